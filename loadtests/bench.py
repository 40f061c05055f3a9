"""`make bench`: throughput and latency of writes on SQLite and PostgreSQL, then the ledger.

For each database:
- the yardstick (m), the least durable action (`loadtests.yardsticks`), flat out at 50
  users on a fresh database of its own (its rows are not in the statistics);
- a fresh database, migrated and seeded; gunicorn on 127.0.0.1 serving the benchmark's
  app (`loadtests.app`: the service and the calibration write) and one `flask worker`
  beside it, as in production; locust (a subprocess) runs (a) the calibration write (one
  INSERT + commit) and (b) POST /api/v1/actions flat out at 50 users, while the worker's
  lag (the age of the oldest approval it has not applied) is sampled every 100 ms, then
  how long it takes to drain once (b) stops; then the mixed scenario at 50 users with
  think time; single partner batches of 500 events are timed on the idle server; the
  ledger invariants and `flask stats check` are checked in the database;
- on a third database, a backlog of 20,000 approvals applied by one worker, then another
  20,000 by two workers at once.
Prints each target as MET / NOT MET and writes the figures to
test-artifacts/bench/<time>.json. Exits 1 when a request failed or an invariant broke;
speed is reported, never asserted.

    .venv/bin/python -m loadtests.bench [--quick] [--duration 30] [--databases sqlite]
    .venv/bin/python -m loadtests.bench --big-db postgresql+psycopg://.../zq_big \
        [--big-db-tokens tokens.json]   # only the statistics/leaderboard phase
    .venv/bin/python -m loadtests.bench --yardsticks   # (a), the floor, the least durable
        # action (loadtests/yardsticks.py) and (b), on databases of their own

Gunicorn: 2 workers x 8 threads by default, for 2 cores. Requests are CPU-bound Python,
so more processes than cores only add context switches (and locust needs a core share
too); threads cover the waits of each worker (SQLite's write lock, PostgreSQL round
trips) without more memory. `--workers/--threads` try other shapes.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from loadtests import bodies
from loadtests.reports import REPORT_READS
from loadtests.server import (
    BENCH_CLI,
    BIN,
    ROOT,
    Resident,
    Server,
    drb_key,
    flask,
    has_generator,
    postgres_cluster,
    serve,
    server_env,
    worker_processes,
)
from loadtests.settings import FLOOR_PATH, LEAST_ACTION_PATH

USERS = 50
DISTRICTS = ["441202", "441203", "441204", "441223", "441284", "zq-newarea"]
ARTIFACTS = ROOT / "test-artifacts" / "bench"
# Background volume (`flask --app loadtests.app bench generate`), so that no table is
# toy-sized; 200 of its residents act in the load.
GENERATED = (
    "--residents",
    "2000",
    "--actions",
    "20000",
    "--days",
    "30",
    "--seed",
    "8",
    "--tokens",
    "200",
)
# The targets: (b) against the least durable action (m) measured in the same run; the
# worker's lag under that load and its drain afterwards; the rest kept from earlier issues.
LEAST_RATIO_TARGET = 0.75
LAG_P95_TARGET_S = 2.0
DRAIN_TARGET_S = 10.0
P95_TARGET_MS = 100
BATCH_TARGET_S = 0.5
SPEEDUP_TARGET = 50
BACKLOG = 20_000
# Above the rows of `_row`
TABLE_HEADER = (
    f"  {'':<40} {'requests':>8} {'fails':>6} {'req/s':>8} {'p50':>6} {'p95':>6} {'p99':>6}"
)


# --- locust ------------------------------------------------------------------------------


def _number(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return 0.0  # "N/A" when a name has no requests


def read_stats(prefix: Path) -> dict:
    """Locust's `<prefix>_stats.csv`: per request name, and the aggregate."""
    rows = {}
    with open(f"{prefix}_stats.csv", newline="") as stats:
        for row in csv.DictReader(stats):
            rows[row["Name"] if row["Name"] != "Aggregated" else "Aggregated"] = {
                "method": row["Type"],
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "rps": round(_number(row["Requests/s"]), 1),
                "p50_ms": _number(row["50%"]),
                "p95_ms": _number(row["95%"]),
                "p99_ms": _number(row["99%"]),
            }
    with open(f"{prefix}_exceptions.csv", newline="") as exceptions:
        errors = [row for row in csv.DictReader(exceptions)]
    return {"rows": rows, "exceptions": errors}


def run_locust(
    server: Server, classes: list[str], seconds: int, prefix: Path, env: dict, users: int = USERS
) -> dict:
    command = [
        BIN / "locust",
        "-f",
        "loadtests/locustfile.py",
        "--headless",
        "--only-summary",
        "--loglevel",
        "WARNING",
        "-u",
        str(users),
        "-r",  # all at once, unless the arguments say otherwise (the last -r counts)
        str(users),
        "-t",
        f"{seconds}s",
        "-H",
        server.base_url,
        "--csv",
        str(prefix),
        *classes,
    ]
    with open(f"{prefix}.log", "wb") as log:
        subprocess.run(  # noqa: S603 - the project's own executables
            command, env={**os.environ, **env}, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
        )
    if not Path(f"{prefix}_stats.csv").exists():
        raise RuntimeError(f"locust did not run:\n{Path(f'{prefix}.log').read_text()[-3000:]}")
    return read_stats(prefix)


def failures(run: dict) -> int:
    return run["rows"].get("Aggregated", {}).get("failures", 0) + len(run["exceptions"])


# --- partner batches ---------------------------------------------------------------------


def time_partner_batches(server: Server, database_url: str, phones: list[str], count: int) -> dict:
    """`count` single batches of 500 events, one after another on the idle server.

    A batch answers once its events are paid; its derived figures (campaigns, badges,
    leaderboards, statistics) are applied after the response. Both are timed, and the next
    batch waits until they are applied.
    """
    credentials = server.credentials["partner"]
    methodology = json.loads(
        urllib.request.urlopen(server.base_url + "/api/v1/methodology").read()  # noqa: S310
    )
    bounds, rng = bodies.Bounds.from_methodology(methodology), random.Random(8)
    seconds, applied, problems = [], [], []
    for _ in range(count):
        events = bodies.partner_events(rng, bounds, phones, 500)
        body, headers = bodies.signed_batch(credentials["key"], credentials["secret"], events)
        started = time.perf_counter()
        status, answer = server.call("POST", "/api/v1/partner/events", data=body, headers=headers)
        seconds.append(round(time.perf_counter() - started, 3))
        if status != 200 or answer.get("accepted") != 500:
            problems.append(f"{status}: {str(answer)[:300]}")
        wait_until_applied(database_url)
        applied.append(round(time.perf_counter() - started, 3))
    return {
        "events": 500,
        "seconds": seconds,
        "median_s": statistics.median(seconds),
        "max_s": max(seconds),
        "applied_seconds": applied,
        "applied_max_s": max(applied),
        "failures": problems,
    }


def wait_until_applied(database_url: str, timeout_s: float = 120) -> None:
    """Until the approval outbox is empty (polled every 10 ms)."""
    engine = sa.create_engine(database_url)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                query = sa.text("SELECT COUNT(*) FROM approval_outbox")
                if connection.execute(query).scalar() == 0:
                    return
            time.sleep(0.01)
    finally:
        engine.dispose()
    raise RuntimeError(f"approvals still in the outbox after {timeout_s} s")


class LagSampler:
    """Samples, every 100 ms on a thread of its own, the outbox's rows and the age of its
    oldest: no approval waits longer than that age, so its p95 bounds the p95 of the
    figures' delay behind their actions."""

    def __init__(self, database_url: str) -> None:
        self.engine = sa.create_engine(database_url)
        self.samples: list[tuple[int, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> LagSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()
        self.engine.dispose()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self.samples.append(backlog(self.engine))

    def summary(self) -> dict:
        ages = sorted(age for _, age in self.samples) or [0.0]
        return {
            "samples": len(self.samples),
            "oldest_age_p95_s": round(ages[min(len(ages) - 1, int(len(ages) * 0.95))], 3),
            "oldest_age_max_s": round(ages[-1], 3),
            "rows_max": max((rows for rows, _ in self.samples), default=0),
        }


def backlog(engine: sa.Engine) -> tuple[int, float]:
    """(rows, age in seconds of the oldest) of the approval outbox."""
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT COUNT(*) FROM approval_outbox")).scalar()
        oldest = connection.execute(
            sa.text("SELECT created_at FROM approval_outbox ORDER BY id LIMIT 1")
        ).scalar()
    if oldest is None:
        return rows, 0.0
    if isinstance(oldest, str):  # SQLite keeps the UTC time as text
        oldest = datetime.fromisoformat(oldest)
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return rows, max(0.0, (datetime.now(UTC) - oldest).total_seconds())


def time_drain(database_url: str, timeout_s: float = 300) -> float:
    """Seconds until the outbox is empty (the worker is applying it)."""
    started = time.perf_counter()
    wait_until_applied(database_url, timeout_s)
    return round(time.perf_counter() - started, 3)


# --- invariants --------------------------------------------------------------------------

INVARIANTS = {
    "balance equals the sum of its entries": (
        "SELECT a.resident_id FROM account a LEFT JOIN ledger_entry e "
        "ON e.resident_id = a.resident_id GROUP BY a.resident_id, a.balance "
        "HAVING a.balance <> COALESCE(SUM(e.delta), 0)"
    ),
    "no negative balance": "SELECT resident_id FROM account WHERE balance < 0",
    "no duplicate cause (kind, ref)": (
        "SELECT kind, ref FROM ledger_entry GROUP BY kind, ref HAVING COUNT(*) > 1"
    ),
    "no entry without its account": (
        "SELECT e.id FROM ledger_entry e WHERE NOT EXISTS "
        "(SELECT 1 FROM account a WHERE a.resident_id = e.resident_id)"
    ),
    "unspent credits equal the balance": (
        "SELECT a.resident_id FROM account a WHERE a.balance <> "
        "(SELECT COALESCE(SUM(e.delta), 0) FROM ledger_entry e "
        " WHERE e.resident_id = a.resident_id AND e.delta > 0) - "
        "(SELECT COALESCE(SUM(x.amount), 0) FROM ledger_allocation x "
        " JOIN ledger_entry c ON c.id = x.credit_entry_id WHERE c.resident_id = a.resident_id)"
    ),
}


def check_invariants(database_url: str) -> dict:
    """Each ledger invariant's offending rows (none when it holds)."""
    engine = sa.create_engine(database_url)
    broken = {}
    try:
        with engine.connect() as connection:
            for name, query in INVARIANTS.items():
                rows = connection.execute(sa.text(query)).all()
                if rows:
                    broken[name] = [list(row) for row in rows[:10]]
            entries = connection.execute(sa.text("SELECT COUNT(*) FROM ledger_entry")).scalar()
    finally:
        engine.dispose()
    return {"ledger_entries": entries, "broken": broken}


def check_rollups(env: dict) -> dict:
    """`flask stats check`: the statistics rollups against the raw actions, to the gram."""
    check = subprocess.run(  # noqa: S603 - the project's own executables
        [BIN / "flask", "--app", "wsgi", "stats", "check"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    crashed = "Traceback" in check.stderr
    return {
        "match": check.returncode == 0,
        "ran": not crashed,  # a crash of the check is no verdict on the rollups
        "output": (check.stdout + check.stderr).strip().splitlines()[-20:],
    }


# --- one database ------------------------------------------------------------------------


@contextlib.contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
    else:
        with postgres_cluster(workdir) as url:
            yield url


def prepare(env: dict, workdir: Path) -> str | None:
    """Schema, reference data, background volume from `flask bench generate` (the
    benchmark's app) when the tree has it (into the fresh database, as it requires), then
    the demo seed (partner, DRB key, campaign, rewards). Returns the generator's tokens
    file, if any.
    """
    flask(env, "db", "upgrade")
    flask(env, "refdata", "load")
    tokens = workdir / "generated-tokens.json"
    if has_generator(env):
        try:
            flask(env, "bench", "generate", *GENERATED, "--tokens-out", str(tokens), app=BENCH_CLI)
        except subprocess.CalledProcessError as exc:
            print(f"  flask bench generate failed, going on without it:\n{exc.stderr}")
    flask(env, "demo", "seed")
    return str(tokens) if tokens.exists() else None


def sign_in(
    server: Server, generated: str | None, count: int, workdir: Path
) -> tuple[list[Resident], dict]:
    """The load's residents (the generator's, or `count` signed in now), and the locust
    environment that names them and the seed's credentials."""
    if generated:
        entries = json.loads(Path(generated).read_text())["residents"]
        residents = [Resident(e["phone"], e["access_token"]) for e in entries]
    else:
        residents = server.sign_in_many(count, DISTRICTS)
    tokens = workdir / "tokens.json"
    tokens.write_text(json.dumps({"residents": [vars(r) for r in residents]}))
    locust_env = {
        "ZQ_LOADTEST_CREDENTIALS": str(workdir / "demo-credentials.json"),
        "ZQ_LOADTEST_TOKENS": str(tokens),
    }
    return residents, locust_env


def keep_output(workdir: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for path in [*workdir.glob("*.csv"), *workdir.glob("*.log")]:
        shutil.copy(path, out)


@contextlib.contextmanager
def seeded(kind: str, purpose: str) -> Iterator[tuple[str, dict, Path, str | None]]:
    """A fresh database of `kind` in a temporary directory, migrated and seeded (`prepare`):
    its URL, the server's environment, the directory, and the generator's tokens file."""
    with (
        tempfile.TemporaryDirectory(prefix=f"zq-{purpose}-{kind}-") as tmp,
        database(kind, Path(tmp)) as url,
    ):
        workdir = Path(tmp)
        env = server_env(url, workdir)
        print(f"[{kind}] migrating and seeding")
        yield url, env, workdir, prepare(env, workdir)


def bench_database(kind: str, args, out: Path) -> dict:
    with seeded(kind, "bench") as (url, env, workdir, generated):
        with (
            serve(env, workdir, args.workers, args.threads) as server,
            worker_processes(env, workdir, 1),
        ):
            print(f"[{kind}] gunicorn {args.workers}x{args.threads} at {server.base_url}, 1 worker")
            residents, locust_env = sign_in(server, generated, args.residents, workdir)
            wait_until_applied(url)  # the seed's and sign-ins' approvals: a clean start
            runs, lag, drain_s = {}, {}, None
            for phase, classes, ramp in (
                ("calibrate", ["CalibrationUser"], []),
                ("actions", ["ActionWriter"], []),
                # Residents arrive over 5 s and the figures start once all are in; at the
                # end each finishes what it is waiting for, so slow requests are counted.
                ("mixed", [], ["-r", str(USERS // 5), "--reset-stats", "--stop-timeout", "120"]),
            ):
                print(f"[{kind}] {phase}: {args.duration} s at {USERS} users")
                with LagSampler(url) as sampler:
                    runs[phase] = run_locust(
                        server, [*ramp, *classes], args.duration, workdir / phase, locust_env
                    )
                if phase == "actions":
                    lag = sampler.summary()
                    drain_s = time_drain(url)
                    print(f"[{kind}] worker lag under (b): {lag}; drained {drain_s} s after")
                else:
                    wait_until_applied(url)
            print(f"[{kind}] timing {args.batches} partner batches of 500 events")
            batches = time_partner_batches(server, url, [r.phone for r in residents], args.batches)
        print(f"[{kind}] checking the ledger and the statistics rollups")
        wait_until_applied(url)  # the rollups are compared once all are applied
        invariants = check_invariants(url)
        rollups = check_rollups(env)
        keep_output(workdir, out / kind)
    calibrate = runs["calibrate"]["rows"].get("/api/v1/bench/calibrate", {})
    actions = runs["actions"]["rows"].get("/api/v1/actions", {})
    ratio = actions.get("rps", 0) / calibrate["rps"] if calibrate.get("rps") else 0.0
    return {
        "database": kind,
        "runs": runs,
        "calibrate": calibrate,
        "actions": actions,
        "ratio": round(ratio, 3),
        "worker_lag": lag,
        "drain_after_s": drain_s,
        "partner_batches": batches,
        "invariants": invariants,
        "rollups": rollups,
    }


# --- the worker: one against two on a backlog ----------------------------------------------


def bench_workers(kind: str, args, out: Path) -> dict:
    """A backlog of BACKLOG approvals (partner batches sent while no worker runs) applied by
    one worker, then another as big by two workers at once; seconds and actions per second."""
    with seeded(kind, "workers") as (url, env, workdir, generated):
        with serve(env, workdir, args.workers, args.threads) as server:
            residents, _ = sign_in(server, generated, args.residents, workdir)
            phones = [r.phone for r in residents]
            results = {}
            for count in (1, 2):
                made = make_backlog(server, phones, args.backlog, seed=count)
                print(f"[{kind}] {made} approvals waiting; {count} worker(s) applying")
                with worker_processes(env, workdir, count):
                    seconds = time_drain(url, timeout_s=900)
                results[count] = {
                    "approvals": made,
                    "seconds": seconds,
                    "per_second": round(made / seconds, 1),
                }
                print(f"[{kind}] {count} worker(s): {results[count]}")
        invariants = check_invariants(url)
        rollups = check_rollups(env)
        keep_output(workdir, out / f"workers-{kind}")
    return {
        "database": kind,
        "one": results[1],
        "two": results[2],
        "speedup": round(results[1]["seconds"] / results[2]["seconds"], 2),
        "invariants": invariants,
        "rollups": rollups,
    }


def make_backlog(server: Server, phones: list[str], size: int, seed: int) -> int:
    """Approvals left in the outbox: partner batches of 500 sent while no worker runs."""
    credentials = server.credentials["partner"]
    methodology = json.loads(
        urllib.request.urlopen(server.base_url + "/api/v1/methodology").read()  # noqa: S310
    )
    bounds, rng = bodies.Bounds.from_methodology(methodology), random.Random(seed)
    accepted = 0
    while accepted < size:
        events = bodies.partner_events(rng, bounds, phones, 500)
        body, headers = bodies.signed_batch(credentials["key"], credentials["secret"], events)
        status, answer = server.call("POST", "/api/v1/partner/events", data=body, headers=headers)
        if status != 200:
            raise RuntimeError(f"{status}: {str(answer)[:300]}")
        accepted += answer["accepted"]
    return accepted


# --- (m) in the same run ------------------------------------------------------------------


def bench_least_action(kind: str, args, out: Path) -> dict:
    """(a) and (m) on a database of their own, flat out, as `--yardsticks` runs them."""
    return bench_yardsticks(kind, args, out, phases=(YARDSTICK_PHASES[0], YARDSTICK_PHASES[2]))


# --- yardsticks --------------------------------------------------------------------------

YARDSTICK_APP = "loadtests.yardsticks:create_app()"
YARDSTICK_PHASES = (
    ("(a) calibration write", "CalibrationUser", "/api/v1/bench/calibrate"),
    ("(f) action machinery, no work", "FloorUser", FLOOR_PATH),
    ("(m) least durable action", "LeastActionUser", LEAST_ACTION_PATH),
    ("(b) POST /api/v1/actions", "ActionWriter", "/api/v1/actions"),
)


def bench_yardsticks(kind: str, args, out: Path, phases=YARDSTICK_PHASES) -> dict:
    """(a), the two yardsticks of `loadtests.yardsticks` and (b) (or `phases` of them), flat
    out, one after the other on one server. Its own database: the least durable action's
    rows are not in the statistics, so no invariant or rollup is checked here."""
    with seeded(kind, "yardsticks") as (_url, env, workdir, generated):
        with serve(env, workdir, args.workers, args.threads, app=YARDSTICK_APP) as server:
            print(f"[{kind}] gunicorn {args.workers}x{args.threads} at {server.base_url}")
            _residents, locust_env = sign_in(server, generated, args.residents, workdir)
            rows, runs = {}, {}
            for label, user, path in phases:
                print(f"[{kind}] {label}: {args.duration} s at {USERS} users")
                prefix = workdir / user
                runs[label] = run_locust(server, [user], args.duration, prefix, locust_env)
                rows[label] = runs[label]["rows"].get(path, {})
        keep_output(workdir, out / f"yardsticks-{kind}")
    calibration = rows[phases[0][0]].get("rps") or 0
    ratios = {
        label: round(row.get("rps", 0) / calibration, 3) if calibration else 0.0
        for label, row in rows.items()
    }
    failed = sum(failures(run) for run in runs.values())
    return {"database": kind, "rows": rows, "ratios": ratios, "failed": failed}


def report_yardsticks(results: dict) -> None:
    print()
    print(TABLE_HEADER)
    for kind, r in results["yardsticks"].items():
        print(f"{kind} (ms; 50 users; {results['settings']['duration']} s each)")
        for label, row in r["rows"].items():
            print(_row(label, row) + f"   ratio to (a) {r['ratios'][label]}")
    print(
        f"\n(f) is the most any action could reach behind the endpoint's machinery, (m) the "
        f"most an action that writes could reach on this machine; the target for (b) is "
        f"{LEAST_RATIO_TARGET} x (m). Load average before the run {results['host']['load_before']}."
    )


# --- the big database --------------------------------------------------------------------


def bench_big_db(args, out: Path) -> dict:
    """Statistics and leaderboards on an existing (generated) database, against raw."""
    with tempfile.TemporaryDirectory(prefix="zq-bench-big-") as tmp:
        workdir = Path(tmp)
        env = server_env(args.big_db, workdir)
        locust_env = {"ZQ_DRB_API_KEY": drb_key(env), "ZQ_LOADTEST_CREDENTIALS": ""}
        if args.big_db_tokens:
            locust_env["ZQ_LOADTEST_TOKENS"] = args.big_db_tokens
        with serve(env, workdir, args.workers, args.threads) as server:
            print(f"[big-db] ReportReader: {args.duration} s at {args.big_db_users} users")
            run = run_locust(
                server,
                ["ReportReader"],
                args.duration,
                workdir / "big-db",
                locust_env,
                users=args.big_db_users,
            )
        print("[big-db] timing the raw queries (flask bench raw-timings)")
        raw = json.loads(
            flask(
                env, "bench", "raw-timings", "--runs", str(args.raw_runs), "--json", app=BENCH_CLI
            )
        )["timings"]
        keep = out / "big-db"
        keep.mkdir(parents=True, exist_ok=True)
        for path in workdir.glob("*.csv"):
            shutil.copy(path, keep)
    reads = {}
    for name, path in REPORT_READS.items():
        row = run["rows"].get(path, {})
        raw_ms = raw.get(name, {}).get("median_ms")
        speedup = raw_ms / row["p50_ms"] if raw_ms and row.get("p50_ms") else None
        reads[path] = {**row, "raw_median_ms": raw_ms, "speedup": speedup and round(speedup, 1)}
    return {"run": run, "reads": reads, "users": args.big_db_users}


# --- report ------------------------------------------------------------------------------


def _row(label: str, row: dict) -> str:
    return (
        f"  {label:<40} {row.get('requests', 0):>8} {row.get('failures', 0):>6} "
        f"{row.get('rps', 0):>8} {row.get('p50_ms', 0):>6.0f} {row.get('p95_ms', 0):>6.0f} "
        f"{row.get('p99_ms', 0):>6.0f}"
    )


def targets(results: dict) -> list[tuple[bool, str]]:
    verdicts = []
    for kind, r in results["databases"].items():
        least = results["least_action"][kind]
        m_rps = least["rows"].get(YARDSTICK_PHASES[2][0], {}).get("rps", 0)
        b_rps = r["actions"].get("rps", 0)
        ratio = round(b_rps / m_rps, 3) if m_rps else 0.0
        r["ratio_to_least"] = ratio
        verdicts.append(
            (
                ratio >= LEAST_RATIO_TARGET,
                f"{kind}: (b)/(m) {b_rps}/{m_rps} = {ratio} >= {LEAST_RATIO_TARGET}",
            )
        )
        lag = r["worker_lag"]["oldest_age_p95_s"]
        verdicts.append(
            (
                lag <= LAG_P95_TARGET_S,
                f"{kind}: derived figures applied within {lag} s p95 under (b) "
                f"(<= {LAG_P95_TARGET_S} s; max {r['worker_lag']['oldest_age_max_s']} s)",
            )
        )
        verdicts.append(
            (
                r["drain_after_s"] <= DRAIN_TARGET_S,
                f"{kind}: backlog drained {r['drain_after_s']} s after (b) (<= {DRAIN_TARGET_S} s)",
            )
        )
        failed = sum(failures(run) for run in r["runs"].values()) + len(
            r["partner_batches"]["failures"]
        )
        verdicts.append((failed == 0, f"{kind}: zero failed requests ({failed} failed)"))
        mixed = r["runs"]["mixed"]["rows"].get("Aggregated", {})
        p95, count = mixed.get("p95_ms", 0), mixed.get("requests", 0)
        verdicts.append(
            (
                0 < p95 < P95_TARGET_MS and count >= USERS,  # a handful of requests proves nothing
                f"{kind}: p95 {p95:.0f} ms < {P95_TARGET_MS} ms at {USERS} users "
                f"(mixed scenario, {count} requests)",
            )
        )
        worst = r["partner_batches"]["max_s"]
        verdicts.append(
            (worst < BATCH_TARGET_S, f"{kind}: partner batch of 500 {worst} s < {BATCH_TARGET_S} s")
        )
        verdicts.append(
            (
                not r["invariants"]["broken"],
                f"{kind}: ledger invariants hold ({r['invariants']['ledger_entries']} entries)",
            )
        )
        rollups = r["rollups"]
        verdicts.append(
            (
                rollups["match"],
                f"{kind}: statistics rollups equal the raw actions"
                + ("" if rollups["ran"] else " (`flask stats check` crashed: no verdict)"),
            )
        )
    for kind, w in results.get("workers", {}).items():
        verdicts.append(
            (
                w["speedup"] > 1,
                f"{kind}: two workers apply a backlog of {w['two']['approvals']} faster than one "
                f"({w['one']['seconds']} s vs {w['two']['seconds']} s, x{w['speedup']})",
            )
        )
        verdicts.append((not w["invariants"]["broken"], f"{kind}: workers: ledger invariants hold"))
        verdicts.append((w["rollups"]["match"], f"{kind}: workers: rollups equal the raw actions"))
    if "big_db" in results:
        for path, read in results["big_db"]["reads"].items():
            p95 = read.get("p95_ms", 0)
            verdicts.append((0 < p95 < P95_TARGET_MS, f"big db: {path} p95 {p95:.0f} ms < 100"))
            speedup = read["speedup"]
            verdicts.append(
                (
                    bool(speedup and speedup >= SPEEDUP_TARGET),
                    f"big db: {path} {speedup}x faster than raw (>= {SPEEDUP_TARGET}x)",
                )
            )
    return verdicts


def report(results: dict) -> None:
    print()
    print(TABLE_HEADER)
    for kind, r in results["databases"].items():
        print(f"{kind} (ms; 50 users; {results['settings']['duration']} s each)")
        print(_row("(a) POST /api/v1/bench/calibrate", r["calibrate"]))
        print(_row("(b) POST /api/v1/actions", r["actions"]))
        least = results["least_action"][kind]["rows"].get(YARDSTICK_PHASES[2][0], {})
        print(_row("(m) least durable action (own database)", least))
        print(f"  ratio (b)/(a) of throughput: {r['ratio']}; (b)/(m): {r['ratio_to_least']}")
        print(
            f"  worker under (b): oldest waiting p95 {r['worker_lag']['oldest_age_p95_s']} s, "
            f"max {r['worker_lag']['oldest_age_max_s']} s, up to {r['worker_lag']['rows_max']} "
            f"rows; drained {r['drain_after_s']} s after (b) stopped"
        )
        for name, row in sorted(r["runs"]["mixed"]["rows"].items()):
            print(_row(f"mixed {row['method']} {name}"[:40], row))
        batches = r["partner_batches"]
        print(
            f"  partner batch of 500, {len(batches['seconds'])} runs: "
            f"median {batches['median_s']} s, max {batches['max_s']} s; derived figures "
            f"applied within {batches['applied_max_s']} s of sending"
        )
        broken = r["invariants"]["broken"]
        print(f"  invariants: {'all hold' if not broken else json.dumps(broken)[:2000]}")
        if not r["rollups"]["match"]:
            print("  flask stats check: " + "\n    ".join(r["rollups"]["output"][-6:]))
    for kind, w in results.get("workers", {}).items():
        print(
            f"{kind}: backlog of {w['one']['approvals']}: one worker {w['one']['seconds']} s "
            f"({w['one']['per_second']}/s), two {w['two']['seconds']} s "
            f"({w['two']['per_second']}/s)"
        )
    if "big_db" in results:
        print(f"big database (ms; {results['big_db']['users']} users)")
        for path, read in results["big_db"]["reads"].items():
            print(_row(path[-40:], read) + f"  raw {read['raw_median_ms']}  x{read['speedup']}")
    print()
    for met, text in targets(results):
        print(f"{'MET    ' if met else 'NOT MET'}  {text}")
    print(
        "\nThe machine is shared and locust runs on it too: figures are noisy, "
        f"load average before the run {results['host']['load_before']}."
    )


def save(results: dict, out: Path) -> None:
    """The figures to test-artifacts/bench/<started_at>.json, beside `out` (locust's files)."""
    out.mkdir(parents=True, exist_ok=True)
    figures = ARTIFACTS / f"{results['started_at']}.json"
    figures.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    print(f"figures in {figures}, locust CSVs in {out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 s per phase, 3 batches")
    parser.add_argument("--duration", type=int, default=30, help="seconds per locust phase")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--residents", type=int, default=200, help="residents signed in first")
    parser.add_argument("--batches", type=int, default=5, help="partner batches timed")
    parser.add_argument(
        "--backlog", type=int, default=BACKLOG, help="approvals for the workers' phase"
    )
    parser.add_argument(
        "--workers-on", default="postgresql", help="databases of the one/two workers phase"
    )
    parser.add_argument("--big-db", help="URL of a generated database: only the big-db phase")
    parser.add_argument("--big-db-tokens", help="tokens file of `flask bench generate`")
    parser.add_argument("--big-db-users", type=int, default=10)
    parser.add_argument("--raw-runs", type=int, default=3)
    parser.add_argument(
        "--yardsticks",
        action="store_true",
        help="only (a), the floor and least-action yardsticks and (b), on databases of their own",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.batches, args.residents, args.backlog = 10, 3, 100, 2000
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = ARTIFACTS / stamp
    results = {
        "started_at": stamp,
        "host": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_before": [round(x, 2) for x in os.getloadavg()],
        },
        "settings": {
            "duration": args.duration,
            "users": USERS,
            "gunicorn": f"{args.workers} workers x {args.threads} threads",
        },
        "databases": {},
    }
    if args.yardsticks:
        results["yardsticks"] = {
            kind: bench_yardsticks(kind, args, out) for kind in args.databases.split(",")
        }
        report_yardsticks(results)
        save(results, out)
        return 1 if any(r["failed"] for r in results["yardsticks"].values()) else 0
    if args.big_db:
        results["big_db"] = bench_big_db(args, out)
    else:
        results["least_action"] = {}
        for kind in args.databases.split(","):
            results["least_action"][kind] = bench_least_action(kind, args, out)
            results["databases"][kind] = bench_database(kind, args, out)
        results["workers"] = {
            kind: bench_workers(kind, args, out)
            for kind in args.workers_on.split(",")
            if kind in args.databases.split(",")
        }
    verdicts = targets(results)
    results["targets"] = [{"met": met, "target": text} for met, text in verdicts]
    report(results)
    save(results, out)
    correctness = [
        text
        for met, text in verdicts
        if not met and ("failed requests" in text or "invariants" in text or "raw actions" in text)
    ]
    return 1 if correctness else 0


if __name__ == "__main__":
    sys.exit(main())
