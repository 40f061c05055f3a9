"""Locust headless against a live server, and what a clean run is (no failure, every
request name of each scenario seen). Locust runs as a subprocess: it monkey-patches with
gevent."""

import csv
import subprocess
from pathlib import Path

from loadtests.server import BIN, ROOT


def run_locust(server, credentials: Path, out: Path, classes: list[str], users: int) -> dict:
    """Locust headless for 8 s; its CSV stats by request name, and its exceptions."""
    prefix = out / "locust"
    done = subprocess.run(
        [
            BIN / "locust",
            "-f",
            "loadtests/locustfile.py",
            "--headless",
            "--only-summary",
            "-u",
            str(users),
            "-r",
            str(users),
            "-t",
            "8s",
            # Users finish the task they are in when time is up: on a busy CI machine a
            # partner batch, or the DRB's five reads in a row, may still be on their way at
            # the end, and they must be counted.
            "--stop-timeout",
            "60",
            "-H",
            server.base_url,
            "--csv",
            str(prefix),
            *classes,
        ],
        env={
            **server.env,
            "ZQ_LOADTEST_CREDENTIALS": str(credentials),
            "ZQ_LOADTEST_PACE": "0",  # no think time: every task comes round in 8 s
            "ZQ_PARTNER_BATCH": "50",  # a full batch of 500 is what the benchmark times
        },
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    with open(f"{prefix}_stats.csv", newline="") as stats:
        rows = {row["Name"]: row for row in csv.DictReader(stats)}
    with open(f"{prefix}_exceptions.csv", newline="") as exceptions:
        errors = list(csv.DictReader(exceptions))
    return {
        "exit": done.returncode,
        "output": done.stdout + done.stderr,
        "rows": rows,
        "errors": errors,
    }


def _failures(output: str) -> str:
    """Locust's own failure table (what went wrong, per request name), else the tail."""
    start = output.find("Error report")
    return output[start : start + 2000] if start >= 0 else output[-2000:]


def assert_clean_run(run: dict, scenarios: dict) -> None:
    failed = {
        name: row["Failure Count"]
        for name, row in run["rows"].items()
        if row["Failure Count"] != "0"
    }
    # CI shows only the head of a long assertion: the failures come first, compact.
    assert failed == {}, (failed, _failures(run["output"]))
    assert run["errors"] == [], run["errors"]
    assert run["exit"] == 0, _failures(run["output"])
    counts = {}
    for name, row in run["rows"].items():
        base = name.split(" (refused: ")[0]  # a legitimate refusal is counted under its own name
        counts[base] = counts.get(base, 0) + int(row["Request Count"])
    missing = {
        scenario: [name for name in names if counts.get(name, 0) == 0]
        for scenario, names in scenarios.items()
    }
    assert all(not names for names in missing.values()), (missing, sorted(counts))
