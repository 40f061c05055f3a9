"""Locust scenarios: residents, partners and the DRB, plus the benchmark's writers.

Run from the repository root. Without class names the mixed scenario runs (ResidentUser,
PartnerUser, DrbUser); the benchmark-only users run only when named:

    locust -f loadtests/locustfile.py --headless -u 50 -r 50 -t 60s \
        -H http://127.0.0.1:8000 --csv out/mixed
    locust -f loadtests/locustfile.py --headless -u 50 -r 50 -t 30s \
        -H http://127.0.0.1:8000 --csv out/actions ActionWriter

Proportions of the mixed scenario, at -u 50: one partner, one DRB client and 48
residents. Residents dominate a city's traffic: each opens the app, does something, and
thinks for 1-5 s. Among their requests, reading (account, ledger, boards, campaigns,
rewards: 22 of 35) outweighs recording (11 of 35, one in eleven a client's retry with
the same Idempotency-Key), and redeeming is rare (1 in 35). A partner (a bus company, a
charging network) sends one signed batch of 500 events every 5 s (100 events/s), the
heaviest single request. The DRB pulls a report (summaries, two time series, green travel,
both exports) every 30 s: rare, but each request aggregates a month.

Failures mean real failures. A refusal the API is designed to give (422
insufficient_points, 409 out_of_stock, 429 rate_limited...) counts as a success under its
own name, `<name> (refused: <code>)`; a 5xx, an unexpected status or a wrong answer (a
retried key that paid again, a partner event rejected) is a failure. Settings come from
the environment: see loadtests/settings.py.
"""

from __future__ import annotations

import contextlib
import itertools
import random
import secrets

from locust import FastHttpUser, constant, constant_pacing, events, task

from loadtests import bodies
from loadtests.reports import PERIODS, REPORT_READS, STATS_REPORT
from loadtests.settings import FLOOR_PATH, LEAST_ACTION_PATH, Settings

SETTINGS = Settings.from_env()
DISTRICTS = ("441202", "441203", "441204", "441223", "441224", "441284", "zq-newarea")
# Phones of residents signed in by this process: partner events name them.
KNOWN_PHONES: list[str] = list(SETTINGS.phones)
_token_turn = itertools.count()


@events.init.add_listener
def _only_named_benchmark_users(environment, **_kwargs):
    """Benchmark users run only when named: the default run is the mixed scenario."""
    named = getattr(environment.parsed_options, "user_classes", None)
    if not named:
        environment.user_classes[:] = [
            user for user in environment.user_classes if not getattr(user, "bench_only", False)
        ]


def expect(response, status: int, refusals: dict[int, set[str]] | None = None) -> bool:
    """Mark a response taken with catch_response: True when it has `status`.

    A listed (status, error code) is a legitimate refusal: a success under its own name.
    """
    if response.status_code == status:
        response.success()
        return True
    code = None
    with contextlib.suppress(ValueError, TypeError, KeyError):  # not our error shape
        code = response.json()["error"]["code"]
    if code is not None and code in (refusals or {}).get(response.status_code, ()):
        response.request_meta["name"] += f" (refused: {code})"
        response.success()
    else:
        # Status 0 is no answer at all: the connection's error says why.
        why = response.text or getattr(response, "error", None) or ""
        response.failure(f"{response.status_code} {code}: {str(why)[:300]}")
    return False


def read(client, path: str, headers: dict | None = None, name: str | None = None):
    """GET `path` expecting 200 (marked as a failure otherwise); the response, or None."""
    with client.get(path, headers=headers, name=name or path, catch_response=True) as response:
        return response if expect(response, 200) else None


def methodology_bounds(client) -> bodies.Bounds:
    """The methodology's bounds, fetched as the app does when it starts."""
    response = read(client, "/api/v1/methodology")
    if response is None:
        raise RuntimeError("GET /api/v1/methodology failed")
    return bodies.Bounds.from_methodology(response.json())


def sign_in(user: FastHttpUser, rng: random.Random, profile: bool = True) -> str:
    """A new resident's access token, through the SMS code flow (dev_code in non-production)."""
    for _ in range(5):
        phone = bodies.new_phone(rng)
        with user.client.post(
            "/api/v1/auth/otp", json={"phone": phone}, catch_response=True
        ) as response:
            if not expect(response, 202, {429: {"rate_limited"}}):
                continue
            code = response.json()["dev_code"]
        with user.client.post(
            "/api/v1/auth/login",
            json={"phone": phone, "code": code, "privacy_version": bodies.privacy_version()},
            catch_response=True,
        ) as response:
            if not expect(response, 200):
                continue
            token = response.json()["access_token"]
        with user.client.post(
            "/api/v1/me/consents",
            json=bodies.location_consent(),
            headers={"Authorization": f"Bearer {token}"},
            catch_response=True,
        ) as response:
            if not expect(response, 200):
                continue
        KNOWN_PHONES.append(phone)
        if profile:
            with user.client.patch(
                "/api/v1/me",
                json={"nickname": f"压测{phone[-4:]}", "district_code": rng.choice(DISTRICTS)},
                headers={"Authorization": f"Bearer {token}"},
                catch_response=True,
            ) as response:
                expect(response, 200)
        return token
    raise RuntimeError("could not sign a resident in")


def resident_token(user: FastHttpUser, rng: random.Random) -> str:
    """A token from ZQ_LOADTEST_TOKENS, in turn, or a newly signed-in resident's."""
    if SETTINGS.tokens:
        return SETTINGS.tokens[next(_token_turn) % len(SETTINGS.tokens)]
    return sign_in(user, rng)


class ResidentUser(FastHttpUser):
    """A resident in the app: records actions, checks points, boards, campaigns, rewards."""

    def wait_time(self) -> float:
        return SETTINGS.pace * self.rng.uniform(1, 5)

    def on_start(self) -> None:
        self.rng = random.Random()
        self.bounds = methodology_bounds(self.client)
        self.auth = {"Authorization": f"Bearer {resident_token(self, self.rng)}"}
        self.last_action: tuple[str, dict, int] | None = None
        self.rewards: list[dict] = []

    def _post_action(self, key: str, body: dict, name: str):
        return self.client.post(
            "/api/v1/actions",
            json=body,
            headers={**self.auth, "Idempotency-Key": key},
            name=name,
            catch_response=True,
        )

    @task(10)
    def record_action(self) -> None:
        key = f"lt-{secrets.token_hex(10)}"
        body = bodies.resident_action(self.rng, self.bounds, owner=self.auth["Authorization"])
        with self._post_action(key, body, "/api/v1/actions") as response:
            if expect(response, 201, {429: {"rate_limited"}}):
                self.last_action = (key, body, response.json()["id"])

    @task(1)
    def retry_action(self) -> None:
        """A client that lost the answer resends: the stored answer, never a second action."""
        if self.last_action is None:
            return self.record_action()
        key, body, action_id = self.last_action
        with self._post_action(key, body, "/api/v1/actions (retry)") as response:
            if not expect(response, 201, {429: {"rate_limited"}}):
                return None
            replayed = response.headers.get("Idempotent-Replayed") == "true"
            if not replayed or response.json()["id"] != action_id:
                response.failure(f"retry not replayed: {response.text[:200]}")
        return None

    @task(6)
    def account(self) -> None:
        read(self.client, "/api/v1/me/account", self.auth)

    @task(3)
    def ledger(self) -> None:
        read(self.client, "/api/v1/me/ledger?limit=20", self.auth, "/api/v1/me/ledger")

    @task(2)
    def own_actions(self) -> None:
        read(self.client, "/api/v1/actions?limit=20", self.auth, "/api/v1/actions [list]")

    @task(4)
    def resident_board(self) -> None:
        query = f"period={self.rng.choice(PERIODS)}"
        if self.rng.random() < 0.3:
            query += f"&district_code={self.rng.choice(DISTRICTS)}"
        path = f"/api/v1/leaderboards/residents?{query}"
        read(self.client, path, self.auth, "/api/v1/leaderboards/residents")

    @task(2)
    def district_board(self) -> None:
        path = f"/api/v1/leaderboards/districts?period={self.rng.choice(PERIODS)}"
        read(self.client, path, self.auth, "/api/v1/leaderboards/districts")

    @task(3)
    def campaigns(self) -> None:
        response = read(self.client, "/api/v1/campaigns", self.auth)
        items = response.json()["items"] if response is not None else []
        if items:
            campaign_id = self.rng.choice(items)["id"]
            read(
                self.client, f"/api/v1/campaigns/{campaign_id}", self.auth, "/api/v1/campaigns/[id]"
            )

    @task(2)
    def catalogue(self) -> None:
        response = read(self.client, "/api/v1/rewards", self.auth)
        if response is not None:
            self.rewards = response.json()["items"]

    @task(1)
    def redeem(self) -> None:
        """Redeem what the last catalogue said is affordable, else try the cheapest."""
        if not self.rewards:
            return self.catalogue()
        affordable = [r for r in self.rewards if r["affordable"]]
        reward = self.rng.choice(affordable) if affordable else self.rewards[0]
        with self.client.post(
            f"/api/v1/rewards/{reward['id']}/redeem",
            headers={**self.auth, "Idempotency-Key": f"lt-{secrets.token_hex(10)}"},
            name="/api/v1/rewards/[id]/redeem",
            catch_response=True,
        ) as response:
            expect(
                response,
                201,
                {
                    409: {"out_of_stock"},
                    422: {"insufficient_points", "limit_reached"},
                    429: {"rate_limited"},
                },
            )
        self.rewards = []  # balance and stock changed: look at the catalogue again first
        return None


class PartnerUser(FastHttpUser):
    """A partner pushing signed batches; a few events of each batch are resent ones."""

    fixed_count = 1
    wait_time = constant_pacing(SETTINGS.partner_every * SETTINGS.pace)
    RESENT = 5

    def on_start(self) -> None:
        if not (SETTINGS.partner_key and SETTINGS.partner_secret):
            raise RuntimeError("no partner key and secret: see loadtests/settings.py")
        self.rng = random.Random()
        self.bounds = methodology_bounds(self.client)
        while len(KNOWN_PHONES) < 10:  # a partner's riders are residents of the app
            sign_in(self, self.rng, profile=False)
        self.previous: list[dict] = []

    @task
    def push_batch(self) -> None:
        resent = self.previous[: self.RESENT]
        fresh = bodies.partner_events(
            self.rng, self.bounds, KNOWN_PHONES, SETTINGS.partner_batch - len(resent)
        )
        self.previous = fresh
        body, headers = bodies.signed_batch(
            SETTINGS.partner_key, SETTINGS.partner_secret, fresh + resent
        )
        with self.client.post(
            "/api/v1/partner/events", data=body, headers=headers, catch_response=True
        ) as response:
            if not expect(response, 200):
                return
            result = response.json()
            rejected = [r for r in result["results"] if r["status"] == "rejected"]
            if rejected:
                response.failure(f"{len(rejected)} events rejected, e.g. {rejected[0]}")
            elif result["duplicates"] != len(resent) or result["accepted"] != len(fresh):
                response.failure(
                    f"expected {len(fresh)} accepted and {len(resent)} duplicates, got "
                    f"{result['accepted']} and {result['duplicates']}"
                )


class DrbUser(FastHttpUser):
    """The DRB's client pulling the month's report with its API key."""

    fixed_count = 1
    wait_time = constant_pacing(SETTINGS.drb_every * SETTINGS.pace)

    def on_start(self) -> None:
        if not SETTINGS.drb_api_key:
            raise RuntimeError("no DRB API key: see loadtests/settings.py")
        self.auth = {"Authorization": f"Bearer {SETTINGS.drb_api_key}"}

    @task
    def pull_report(self) -> None:
        for path, query in STATS_REPORT:
            read(self.client, f"{path}?{query}", self.auth, path)


# --- benchmark users: run only when named --------------------------------------------


class CalibrationUser(FastHttpUser):
    """The ceiling: one INSERT and commit per request (the benchmark's app only), flat out."""

    bench_only = True
    wait_time = constant(0)

    @task
    def calibrate(self) -> None:
        with self.client.post("/api/v1/bench/calibrate", catch_response=True) as response:
            expect(response, 201)


class ActionWriter(FastHttpUser):
    """Only POST /api/v1/actions, flat out, each with a fresh key (raise the flood limit)."""

    bench_only = True
    wait_time = constant(0)
    path = "/api/v1/actions"

    def on_start(self) -> None:
        self.rng = random.Random()
        self.bounds = methodology_bounds(self.client)
        self.auth = {"Authorization": f"Bearer {resident_token(self, self.rng)}"}

    @task
    def record_action(self) -> None:
        with self.client.post(
            self.path,
            json=bodies.resident_action(self.rng, self.bounds, owner=self.auth["Authorization"]),
            headers={**self.auth, "Idempotency-Key": f"lt-{secrets.token_hex(10)}"},
            catch_response=True,
        ) as response:
            expect(response, 201)


class FloorUser(ActionWriter):
    """The action endpoint's machinery around no work (`loadtests.yardsticks`), flat out."""

    path = FLOOR_PATH


class LeastActionUser(ActionWriter):
    """The least a correct action writes, behind the same machinery, flat out."""

    path = LEAST_ACTION_PATH


# The report reads come round in turn, shared by the process's readers: the mix is even,
# and a short run (the suite's smoke test on a busy machine) still reads every one.
_report_turn = itertools.cycle(REPORT_READS.values())


class ReportReader(FastHttpUser):
    """Every statistics endpoint and leaderboard flat out, each under its full path."""

    bench_only = True
    wait_time = constant(0)

    def on_start(self) -> None:
        if not SETTINGS.drb_api_key:
            raise RuntimeError("no DRB API key: see loadtests/settings.py")
        self.rng = random.Random()
        self.drb = {"Authorization": f"Bearer {SETTINGS.drb_api_key}"}
        self.resident = {"Authorization": f"Bearer {resident_token(self, self.rng)}"}

    @task
    def read(self) -> None:
        path = next(_report_turn)
        auth = self.drb if path.startswith("/api/v1/stats/") else self.resident
        read(self.client, path, auth)
