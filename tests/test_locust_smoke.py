"""The locust scenarios run a few seconds against a live server, without a failure.

Speed is never asserted here (`make bench` prints it): this only keeps the scenarios from
rotting as the API changes. Locust runs as a subprocess, since it monkey-patches with gevent.
"""

import json
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from loadtests.server import BENCH_APP, BIN, ROOT, drb_key
from tests.factories import partner_credentials
from tests.live_server import live_server
from tests.locust_runs import assert_clean_run, run_locust

# Its servers run in other processes, on the machine's clock: this module's own clock is
# not pinned either, and its assertions hold whatever the day or the hour.
# Load in a fixed time window: one such module at a time on the machine (tests/conftest.py).
pytestmark = [pytest.mark.real_clock, pytest.mark.machine_to_itself]

MIXED = {
    "ResidentUser": [
        "/api/v1/auth/otp",
        "/api/v1/auth/login",
        "/api/v1/me",
        "/api/v1/methodology",
        "/api/v1/actions",
        "/api/v1/actions (retry)",
        "/api/v1/actions [list]",
        "/api/v1/me/account",
        "/api/v1/me/ledger",
        "/api/v1/leaderboards/residents",
        "/api/v1/leaderboards/districts",
        "/api/v1/campaigns",
        "/api/v1/campaigns/[id]",
        "/api/v1/rewards",
        "/api/v1/rewards/[id]/redeem",
    ],
    "PartnerUser": ["/api/v1/partner/events"],
    "DrbUser": [
        "/api/v1/stats/summary",
        "/api/v1/stats/timeseries",
        "/api/v1/stats/green-travel",
        "/api/v1/stats/export.csv",
        "/api/v1/stats/export.xlsx",
    ],
}
BENCHMARK = {
    "CalibrationUser": ["/api/v1/bench/calibrate"],
    "ActionWriter": ["/api/v1/actions"],
    "ReportReader": ["/api/v1/stats/summary", "/api/v1/leaderboards/residents?period=week"],
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The benchmark's app: the service's scenarios and the benchmark's writers alike."""
    with live_server(tmp_path_factory.mktemp("locust"), app=BENCH_APP) as live:
        yield live


@pytest.fixture(scope="module")
def credentials(server, tmp_path_factory) -> Path:
    """What the scenarios need: a partner, a DRB key, a campaign and a reward."""
    partner = partner_credentials(
        server.flask(
            "partner", "create", "压测公交", "--allow", "trip:bus", "--allow", "ev_charging"
        )
    )
    staff = server.staff_headers("locust-admin", "campaign_admin")
    now = datetime.now(UTC)
    server.published_campaign(staff, (1, 6), title="低碳日压测", event_key="low_carbon_day")
    reward = server.call(
        "POST",
        "/api/v1/staff/rewards",
        {
            "title": "公交乘车券 2 元",
            "merchant_name": "肇庆公交集团",
            "cost_points": 300,
            "stock": 1000,
            "valid_from": (now - timedelta(days=1)).isoformat(),
            "valid_until": (now + timedelta(days=30)).isoformat(),
        },
        staff,
    )
    assert reward.status == 201, reward.body
    path = tmp_path_factory.mktemp("credentials") / "credentials.json"
    path.write_text(
        json.dumps(
            {
                "partner": partner,
                "drb_api_key": drb_key(server.env),
            }
        )
    )
    return path


def test_mixed_scenario_runs_without_failures(server, credentials, tmp_path):
    run = run_locust(server, credentials, tmp_path, [], users=6)
    assert_clean_run(run, MIXED)


def test_benchmark_users_run_without_failures(server, credentials, tmp_path):
    run = run_locust(server, credentials, tmp_path, list(BENCHMARK), users=6)
    assert_clean_run(run, BENCHMARK)


def test_in_process_costs_run(tmp_path):
    """`python -m loadtests.in_process` (the app's own cost per request) still runs."""
    done = subprocess.run(
        [BIN / "python", "-m", "loadtests.in_process", "--requests", "5", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": str(BIN), "TMPDIR": str(tmp_path), "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    printed = re.findall(r"^\((a|f|m|b)\) .* ms per request", done.stdout, re.MULTILINE)
    assert printed == ["a", "f", "m", "b"], done.stdout
