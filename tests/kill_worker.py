"""A gunicorn worker killed with SIGKILL in the middle of a short load run; afterwards
every answer a client got holds, nothing is paid twice and the ledger invariants stand.

Residents record actions and redeem (each with its own Idempotency-Key) and a partner
pushes batches, from many threads. One worker is killed mid-run (another, up to three,
while no request was seen to die); gunicorn replaces it. Clients do what a real app does:
a request that got no answer (connection reset, 5xx) or `idempotency_key_in_flight` is
sent again with the same key and body until the answer is definite. A key the killed
worker had claimed is free again after IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS (3 s here).

    .venv/bin/python -m tests.kill_worker     # SQLite; TEST_DATABASE_URL for PostgreSQL

`tests/test_worker_kill.py` runs it in `make test` on both databases.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import signal
import sys
import tempfile
import threading
import time
import urllib.error
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from tests.factories import partner_credentials, partner_signature, trip
from tests.live_server import LiveServer, Reply, live_server

CLAIM_TIMEOUT_SECONDS = 3
WORKERS = 3
CLIENT_THREADS = 12
RUN_DEADLINE_SECONDS = 60
NO_ANSWER = (urllib.error.URLError, ConnectionError, http.client.HTTPException, TimeoutError)


@dataclass
class Job:
    """One request a client insists on until it has a definite answer."""

    kind: str  # action | redeem | batch
    path: str
    body: dict
    headers: dict
    resident: int | None = None
    answer: Reply | None = None
    attempts: int = 0
    lost: int = 0  # sent, but no answer came back (the worker died under it)
    waited: int = 0  # answered idempotency_key_in_flight: a claim still held


@dataclass
class Report:
    database: str
    seconds: float = 0.0
    requests: int = 0
    killed: list[int] = field(default_factory=list)
    replaced_by: list[int] = field(default_factory=list)
    lost: int = 0
    in_flight_waits: int = 0
    answers: dict = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        return (
            f"{self.database}: {self.requests} requests in {self.seconds:.1f} s; killed "
            f"{self.killed} (replaced by {self.replaced_by}); {self.lost} requests lost with "
            f"their worker, {self.in_flight_waits} in-flight answers waited out; "
            f"answers {self.answers}; "
            + ("invariants hold" if self.ok else "PROBLEMS: " + "; ".join(self.problems))
        )


# --- processes -------------------------------------------------------------------------------


def _parent_and_state(pid: int) -> tuple[int, str] | None:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), fields[0]


def children(pid: int) -> list[int]:
    """Live (not zombie) child processes of `pid`, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            info = _parent_and_state(int(entry))
            if info and info[0] == pid and info[1] != "Z":
                found.append(int(entry))
    return sorted(found)


def gunicorn_master(server: LiveServer) -> int:
    bind = server.base_url.removeprefix("http://")
    for pid in children(os.getpid()):
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            if bind.encode() in cmdline.read():
                return pid
    raise RuntimeError(f"no gunicorn master bound to {bind}")


# --- clients ----------------------------------------------------------------------------------


def _definite(reply: Reply) -> bool:
    if reply.status >= 500:
        return False
    return reply.body.get("error", {}).get("code") != "idempotency_key_in_flight"


def _send(server: LiveServer, job: Job, partner: dict | None) -> Reply:
    headers = dict(job.headers)
    if job.kind == "batch":
        # Signed afresh for each resend: the same events, a current timestamp.
        raw = json.dumps(job.body).encode()  # what LiveServer.call sends
        headers.update(partner_signature(partner["key"], partner["secret"], raw))
    return server.call("POST", job.path, job.body, headers)


def _insist(server: LiveServer, job: Job, partner: dict, deadline: float, sent: Counter) -> None:
    while time.monotonic() < deadline:
        job.attempts += 1
        sent["requests"] += 1
        try:
            reply = _send(server, job, partner)
        except NO_ANSWER:
            job.lost += 1
            sent["lost"] += 1
            time.sleep(0.05)
            continue
        if _definite(reply):
            job.answer = reply
            return
        job.waited += 1
        time.sleep(0.2)


# --- the run ----------------------------------------------------------------------------------


def _setup(server: LiveServer, rng: random.Random, residents: int):
    admin = server.staff_headers("kill-admin", "campaign_admin")
    partner = partner_credentials(
        server.flask("partner", "create", "肇庆公交", "--allow", "trip:bus")
    )
    now = time.time()
    reward = server.call(
        "POST",
        "/api/v1/staff/rewards",
        {
            "title": "公交乘车券",
            "merchant_name": "肇庆公交",
            "cost_points": 1,
            "stock": residents * 2,  # fewer than asked for: some answers are out_of_stock
            "valid_from": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 86400)),
            "valid_until": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 86400)),
        },
        admin,
    )
    assert reward.status == 201, reward.body
    people = []
    for i in range(residents):
        phone = f"1375{rng.randrange(1000):03d}{i:04d}"
        headers = server.sign_in(phone)
        me = server.call("GET", "/api/v1/me", headers=headers).body["id"]
        # A first trip, so every resident can afford a redemption from the start.
        first = server.call(
            "POST",
            "/api/v1/actions",
            trip("bus", 8, 30, ended_minutes_ago=600),
            {**headers, "Idempotency-Key": "fund"},
        )
        assert first.status == 201, first.body
        people.append((me, phone, headers))
    return admin, partner, reward.body["id"], people


def _jobs(people, reward_id: int, actions: int, redemptions: int, batches: int) -> list[Job]:
    jobs = []
    for me, _, headers in people:
        for i in range(actions):
            mode, km = ("walk", 2) if i % 3 == 0 else ("bus", 5)
            jobs.append(
                Job(
                    "action",
                    "/api/v1/actions",
                    trip(mode, km, 30, ended_minutes_ago=5 + 35 * i),
                    {**headers, "Idempotency-Key": f"act-{i}"},
                    me,
                )
            )
        for i in range(redemptions):
            jobs.append(
                Job(
                    "redeem",
                    f"/api/v1/rewards/{reward_id}/redeem",
                    {},
                    {**headers, "Idempotency-Key": f"redeem-{i}"},
                    me,
                )
            )
    for b in range(batches):
        events = [
            {
                "event_id": f"kill-{b}-{i}",
                "resident": phone,
                **trip("bus", 6, 25, ended_minutes_ago=400 + 30 * b + i),
            }
            for i, (_, phone, _) in enumerate(people)
        ]
        jobs.append(Job("batch", "/api/v1/partner/events", {"events": events}, {}))
    return jobs


def _kill_workers(server: LiveServer, report: Report, sent: Counter, done: threading.Event):
    """SIGKILL a worker once the load is under way; again (three at most) while no request
    has been seen to die with one. Waits for gunicorn to replace each."""
    master = gunicorn_master(server)
    while sent["requests"] < 30 and not done.is_set():
        time.sleep(0.02)
    for _ in range(3):
        if done.is_set():
            return
        before = children(master)
        victim = random.choice(before)
        lost_before = sent["lost"]
        os.kill(victim, signal.SIGKILL)
        report.killed.append(victim)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            now = children(master)
            if victim not in now and len(now) == len(before):
                report.replaced_by.extend(sorted(set(now) - set(before)))
                break
            time.sleep(0.05)
        else:
            report.problems.append(f"gunicorn did not replace worker {victim}")
            return
        time.sleep(0.3)
        if sent["lost"] > lost_before:
            return


def _check(server: LiveServer, jobs: list[Job], people, report: Report) -> None:
    problems = report.problems
    unanswered = [job for job in jobs if job.answer is None]
    if unanswered:
        problems.append(f"{len(unanswered)} requests never got a definite answer")
    expected = {"action": {201}, "redeem": {201, 409}, "batch": {200}}
    for job in jobs:
        if job.answer and job.answer.status not in expected[job.kind]:
            problems.append(f"{job.kind} answered {job.answer.status} {job.answer.body}")
    report.answers = dict(
        Counter(f"{job.kind} {job.answer.status}" for job in jobs if job.answer is not None)
    )

    acked_actions = defaultdict(dict)  # resident -> action id -> points
    acked_codes = defaultdict(set)
    for job in jobs:
        if job.answer is None or job.answer.status != 201:
            continue
        if job.kind == "action":
            acked_actions[job.resident][job.answer.body["id"]] = job.answer.body["points"]
        else:
            acked_codes[job.resident].add(job.answer.body["code"])
    accepted_events = {
        result["event_id"]: result["action_id"]
        for job in jobs
        if job.kind == "batch" and job.answer is not None
        for result in job.answer.body["results"]
        if result["status"] in ("accepted", "duplicate")
    }
    sent_events = {e["event_id"] for job in jobs if job.kind == "batch" for e in job.body["events"]}
    if set(accepted_events) != sent_events:
        problems.append(
            f"partner events not recorded: {sorted(sent_events - set(accepted_events))}"
        )

    with server.engine.connect() as db:

        def rows(sql: str, **params):
            return db.execute(sa.text(sql), params).all()

        if broken := rows(
            "SELECT a.resident_id, a.balance FROM account a WHERE a.balance < 0 OR a.balance != "
            "(SELECT COALESCE(SUM(e.delta), 0) FROM ledger_entry e "
            "WHERE e.resident_id = a.resident_id)"
        ):
            problems.append(f"balances that are not the sum of their entries: {broken}")
        if twice := rows(
            "SELECT kind, ref FROM ledger_entry GROUP BY kind, ref HAVING COUNT(*) > 1"
        ):
            problems.append(f"causes paid twice: {twice}")
        if oversold := rows(
            "SELECT r.id FROM reward r WHERE r.stock_left < 0 OR r.stock_left + "
            "(SELECT COUNT(*) FROM redemption d WHERE d.reward_id = r.id "
            "AND d.status != 'cancelled') != r.stock_total"
        ):
            problems.append(f"stock that does not add up: {oversold}")
        if claims := rows("SELECT key FROM idempotency_record WHERE response_status IS NULL"):
            problems.append(f"idempotency keys still claimed: {claims}")
        events = rows("SELECT event_id, action_id FROM partner_event")
        if len(events) != len(sent_events) or dict(events) != accepted_events:
            problems.append("partner events recorded otherwise than answered")

        for me, _, _ in people:
            stored = dict(
                rows(
                    "SELECT id, points FROM action WHERE resident_id = :me "
                    "AND source = 'self_reported'",
                    me=me,
                )
            )
            fund = min(stored) if stored else None
            stored.pop(fund, None)  # the funding trip of _setup
            if stored != acked_actions[me]:
                problems.append(
                    f"resident {me}: actions stored {sorted(stored)} but acknowledged "
                    f"{sorted(acked_actions[me])}"
                )
            earned = Counter(
                ref
                for (ref,) in rows(
                    "SELECT ref FROM ledger_entry WHERE resident_id = :me AND kind = 'earn'",
                    me=me,
                )
            )
            for action_id, points in acked_actions[me].items():
                if earned[f"action:{action_id}"] != (1 if points else 0):
                    problems.append(f"action {action_id} paid {earned[f'action:{action_id}']}x")
            codes = {
                code
                for (code,) in rows("SELECT code FROM redemption WHERE resident_id = :me", me=me)
            }
            if codes != acked_codes[me]:
                problems.append(
                    f"resident {me}: redemptions {codes} but acknowledged {acked_codes[me]}"
                )
    try:
        # Whatever the outbox still holds is applied first (the worker runs beside the
        # server; this makes the check wait for nothing).
        server.flask("points", "apply-outbox")
        server.flask("stats", "check")
    except Exception as exc:  # noqa: BLE001 - a failed check is a finding, reported as such
        problems.append(f"stats check failed: {getattr(exc, 'stdout', exc)}")


def run(
    workdir: Path,
    *,
    residents: int = 6,
    actions: int = 8,
    redemptions: int = 3,
    batches: int = 3,
    seed: int = 9,
) -> Report:
    """Start a server, load it, kill a worker, check everything; returns the report."""
    database = "postgresql" if os.environ.get("TEST_DATABASE_URL") else "sqlite"
    report = Report(database)
    rng = random.Random(seed)
    env = {"IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS": str(CLAIM_TIMEOUT_SECONDS)}
    with live_server(workdir, workers=WORKERS, extra_env=env) as server:
        _, partner, reward_id, people = _setup(server, rng, residents)
        jobs = _jobs(people, reward_id, actions, redemptions, batches)
        rng.shuffle(jobs)
        sent: Counter = Counter()
        done = threading.Event()
        started = time.monotonic()
        deadline = started + RUN_DEADLINE_SECONDS
        killer = threading.Thread(target=_kill_workers, args=(server, report, sent, done))
        killer.start()
        with ThreadPoolExecutor(max_workers=CLIENT_THREADS) as pool:
            list(pool.map(lambda job: _insist(server, job, partner, deadline, sent), jobs))
        done.set()
        killer.join()
        report.seconds = time.monotonic() - started
        report.requests = sent["requests"]
        report.lost = sum(job.lost for job in jobs)
        report.in_flight_waits = sum(job.waited for job in jobs)
        if not report.killed:
            report.problems.append("no worker was killed: the run ended first")
        if server.call("GET", "/healthz").status != 200:
            report.problems.append("the server did not answer after the kill")
        _check(server, jobs, people, report)
    return report


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="zq-kill-") as workdir:
        report = run(Path(workdir))
    print(report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
