"""A gunicorn worker killed with SIGKILL mid-load leaves the invariants intact: the run
and its checks are tests/kill_worker.py, here on the suite's database."""

import pytest

from tests.kill_worker import run

# Its servers run in other processes, on the machine's clock: this module's own clock is
# not pinned either, and its assertions hold whatever the day or the hour.
# Load in a fixed time window: one such module at a time on the machine (tests/conftest.py).
pytestmark = [pytest.mark.real_clock, pytest.mark.machine_to_itself]


def test_a_worker_killed_mid_load_leaves_every_answer_and_invariant_intact(tmp_path):
    report = run(tmp_path)
    print(report.summary())
    assert report.killed and len(report.replaced_by) == len(report.killed)
    assert report.ok, report.summary()
