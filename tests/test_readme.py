"""The README's walkthrough runs as shown: a resident, a partner batch and a DRB query,
against a live server seeded as `make demo` seeds it.

The blocks are read from README.md (those after a `<!-- walkthrough: name -->` line), so
the test fails when the README drifts from the API. Only what a reader would change is
changed: the server's address, where the credentials file is, and where `.venv/bin` is.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from loadtests.server import BIN, ROOT

# The walkthrough runs against a server on the machine's clock, as a reader's would: what
# it asserts holds whatever the day or the hour.
pytestmark = pytest.mark.real_clock

README = ROOT / "README.md"
BLOCK = re.compile(r"<!-- walkthrough: (\w+) -->\n```(\w+)\n(.*?)\n```", re.DOTALL)


def walkthrough() -> dict[str, tuple[str, str]]:
    """{name: (language, code)} of the README's walkthrough blocks, in order."""
    return {name: (language, code) for name, language, code in BLOCK.findall(README.read_text())}


def test_the_readme_names_its_walkthrough_blocks():
    blocks = walkthrough()
    assert list(blocks) == ["resident", "partner", "drb"]
    assert [language for language, _ in blocks.values()] == ["sh", "python", "sh"]


@pytest.fixture(scope="module")
def demo(demo_server):
    """The demo's live server, and the directory of its credentials file."""
    return demo_server, Path(demo_server.env["INSTANCE_PATH"])


def as_a_reader_runs_it(code: str, workdir: Path, base_url: str) -> str:
    return (
        code.replace("http://127.0.0.1:8000", base_url)
        .replace("instance/demo-credentials.json", str(workdir / "demo-credentials.json"))
        .replace(".venv/bin/", f"{BIN}/")
    )


def run(demo, name: str) -> list:
    """Runs one block as the README says (bash or the venv's python) in a scratch
    directory; the JSON documents it printed, one per line, and its other lines."""
    server, workdir = demo
    language, code = walkthrough()[name]
    script = as_a_reader_runs_it(code, workdir, server.base_url)
    scratch = workdir / f"run-{name}"
    scratch.mkdir(exist_ok=True)
    command = ["bash", "-euo", "pipefail", "-c", script]
    if language == "python":
        command = [str(BIN / "python"), "-c", script]
    done = subprocess.run(
        command, cwd=scratch, capture_output=True, text=True, timeout=120, env=server.env
    )
    assert done.returncode == 0, (name, done.stdout[-2000:], done.stderr[-2000:])
    printed = []
    for line in filter(None, done.stdout.splitlines()):
        try:
            printed.append(json.loads(line))
        except json.JSONDecodeError:
            printed.append(line)
    return printed


def test_the_resident_walkthrough_signs_in_records_reads_the_ledger_and_signs_out(demo):
    me, profile, action, account, ledger, logout = run(demo, "resident")
    assert me["phone_masked"] == "138****0001"
    assert me["consent"]["privacy_required"] is False  # the version sent at sign-in
    assert profile["nickname"] == "绿行者" and profile["district_code"] == "441202"
    assert action["type"] == "garbage_sorting" and action["status"] == "approved"
    assert action["verification"] == "self_declared" and action["points"] == 0
    assert action["occurred_at"].endswith("+08:00")
    assert account["balance"] > 0  # three weeks of the demo's actions
    assert len(ledger["items"]) == 3
    assert all(entry["description"] for entry in ledger["items"])
    assert logout == "logout: 204"


def test_the_partner_walkthrough_sends_a_signed_batch_that_is_accepted(demo):
    (answer,) = run(demo, "partner")
    (result,) = answer["results"]
    assert result["status"] == "accepted", result
    assert answer["accepted"] == 1 and result["points"] > 0


def test_the_drb_walkthrough_reads_the_months_figures_and_exports_them(demo):
    summary, green_travel, export = run(demo, "drb")
    assert summary["participants"] >= 10 and summary["co2e_g"] > 0
    assert green_travel["target"] == 0.7
    # The demo's districts are small: the share may be suppressed, never half-shown.
    if green_travel["suppressed"]:
        assert green_travel["share"] is None and green_travel["total_trips"] is None
    else:
        assert 0 <= green_travel["share"] <= 1 and green_travel["total_trips"] >= 10
    assert export == (
        "export: 200 application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
