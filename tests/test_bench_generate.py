"""`flask --app loadtests.app bench generate`: bulk data as the app would have written it,
and the raw queries the benchmark compares the endpoints with. The `bench` commands run on
the suite's app here, as the benchmark's app adds them to the service's."""

import json

import pytest
import sqlalchemy as sa

from loadtests.bigdb import raw
from loadtests.bigdb.cli import bench_cli
from tests.conftest import assert_ledger_invariants
from tests.factories import privacy_version

RESIDENTS, ACTIONS = 300, 3000
MEASURES = ("participants", "actions", "co2e_g", "points_awarded")


@pytest.fixture
def cli(app):
    return app.test_cli_runner()


@pytest.fixture
def generated(app, cli, tmp_path):
    """A small generated city; returns the token file's residents."""
    tokens = tmp_path / "tokens.json"
    result = cli.invoke(
        bench_cli,
        [
            "generate",
            "--residents",
            str(RESIDENTS),
            "--actions",
            str(ACTIONS),
            "--seed",
            "7",
            "--tokens-out",
            str(tokens),
            "--tokens",
            "5",
        ],
    )
    assert result.exit_code == 0, result.output
    return json.loads(tokens.read_text())["residents"]


def scalar(session, sql: str, **params):
    return session.execute(sa.text(sql), params).scalar()


def test_generate_writes_approved_actions_each_paid_once_within_the_caps(
    generated, db_session, app
):
    assert scalar(db_session, "SELECT COUNT(*) FROM resident") >= RESIDENTS
    assert scalar(db_session, "SELECT COUNT(*) FROM action WHERE status = 'approved'") == ACTIONS
    assert scalar(db_session, "SELECT COUNT(DISTINCT type) FROM action") == 4
    # Every paid action has exactly its earn entry, and no entry pays for nothing.
    paid = scalar(db_session, "SELECT COUNT(*) FROM action WHERE points > 0")
    assert paid == scalar(db_session, "SELECT COUNT(*) FROM ledger_entry WHERE kind = 'earn'")
    mismatched = scalar(
        db_session,
        "SELECT COUNT(*) FROM action a LEFT JOIN ledger_entry e "
        "ON e.kind = 'earn' AND e.ref = 'action:' || a.id "
        "WHERE a.points > 0 AND (e.delta IS NULL OR e.delta <> a.points "
        "OR e.resident_id <> a.resident_id)",
    )
    assert mismatched == 0
    causes = scalar(db_session, "SELECT COUNT(DISTINCT kind || ' ' || ref) FROM ledger_entry")
    assert causes == scalar(db_session, "SELECT COUNT(*) FROM ledger_entry")
    # Daily caps: what daily_points holds is what the actions were paid, never over the cap.
    caps = db_session.execute(sa.text("SELECT rules FROM methodology_version")).scalar()
    caps = (json.loads(caps) if isinstance(caps, str) else caps)["daily_point_caps"]
    rows = db_session.execute(
        sa.text(
            "SELECT d.action_type, d.points, "
            "(SELECT SUM(a.points) FROM action a WHERE a.resident_id = d.resident_id "
            " AND a.local_day = d.local_day AND a.type = d.action_type) AS paid "
            "FROM daily_points d"
        )
    ).all()
    assert rows and all(r.points == r.paid <= caps[r.action_type] for r in rows)
    assert scalar(db_session, "SELECT COUNT(*) FROM action WHERE capped") > 0
    # Campaign bonuses: one entry per counted action with a bonus, for the same points.
    bonuses = scalar(db_session, "SELECT SUM(bonus_points) FROM campaign_action")
    entries = scalar(
        db_session,
        "SELECT SUM(delta) FROM ledger_entry "
        "WHERE kind = 'campaign_bonus' AND ref LIKE '%/action:%'",
    )
    assert bonuses and bonuses == entries
    # Accounts: lifetime CO2e is the sum of approved actions; balances follow the ledger.
    assert (
        scalar(
            db_session,
            "SELECT COUNT(*) FROM account c WHERE c.co2e_g_total <> "
            "(SELECT COALESCE(SUM(a.co2e_g), 0) FROM action a WHERE a.resident_id = c.resident_id)",
        )
        == 0
    )
    assert_ledger_invariants(db_session.connection())
    check = app.test_cli_runner().invoke(args=["stats", "check"])
    assert check.exit_code == 0, check.output


def test_generated_leaderboards_equal_the_sums_of_the_actions(generated, db_session):
    differences = scalar(
        db_session,
        "SELECT COUNT(*) FROM leaderboard_resident b WHERE b.period_key = 'all' AND b.co2e_g <> "
        "(SELECT SUM(a.co2e_g) FROM action a WHERE a.resident_id = b.resident_id)",
    )
    assert differences == 0
    missing = scalar(
        db_session,
        "SELECT COUNT(DISTINCT resident_id) FROM action WHERE co2e_g > 0 AND resident_id NOT IN "
        "(SELECT resident_id FROM leaderboard_resident WHERE period_key = 'all')",
    )
    assert missing == 0
    districts = scalar(
        db_session,
        "SELECT COUNT(*) FROM leaderboard_district d WHERE d.co2e_g <> (SELECT SUM(r.co2e_g) "
        "FROM leaderboard_resident r WHERE r.period_key = d.period_key "
        "AND r.district_code = d.district_code)",
    )
    assert districts == 0


def test_generated_residents_sign_in_with_the_token_file(generated, client, db_session):
    for resident in generated:
        assert resident["phone"].startswith("199")
        headers = {"Authorization": f"Bearer {resident['access_token']}"}
        account = client.get("/api/v1/me/account", headers=headers)
        assert account.status_code == 200
        balance = scalar(
            db_session, "SELECT balance FROM account WHERE resident_id = :id", id=resident["id"]
        )
        assert account.json["balance"] == (balance or 0)
    # And through OTP (development code), by the number in the file.
    phone = generated[0]["phone"]
    code = client.post("/api/v1/auth/otp", json={"phone": phone}).json["dev_code"]
    login = client.post(
        "/api/v1/auth/login",
        json={"phone": phone, "code": code, "privacy_version": privacy_version()},
    )
    assert login.json["resident"]["id"] == generated[0]["id"]


def test_generate_refuses_a_database_that_already_has_actions(generated, cli):
    again = cli.invoke(bench_cli, ["generate", "--residents", "5", "--actions", "5"])
    assert again.exit_code != 0
    assert "already has actions" in again.output


@pytest.fixture
def drb(cli):
    result = cli.invoke(args=["drb-key", "create", "bench comparison"])
    key = next(word for word in result.output.split() if word.startswith("drb_"))
    return {"Authorization": f"Bearer {key}"}


def measures(cell: dict) -> dict:
    return {name: cell[name] for name in MEASURES}


def test_endpoints_answer_what_the_raw_queries_compute(
    app, generated, client, drb, monkeypatch, db_session
):
    monkeypatch.setitem(app.config, "STATS_MIN_RESIDENTS", 1)  # compare every cell
    caller = generated[0]
    resident = {"Authorization": f"Bearer {caller['access_token']}"}
    answers = {}
    for name, (path, query) in raw.queries(caller["id"]).items():
        response = client.get(path, headers=resident if name.startswith("leader") else drb)
        assert response.status_code == 200, (name, response.data[:300])
        with app.app_context():
            answers[name] = (response, query())

    endpoint, expected = answers["stats_summary"]
    assert measures(endpoint.json) == {m: expected[m] for m in MEASURES}
    assert endpoint.json["actions"] > 0
    for kind, cell in endpoint.json["by_type"].items():
        assert measures(cell) == expected["by_type"][kind], kind

    for name in ("stats_timeseries_type", "stats_timeseries_district"):
        endpoint, expected = answers[name]
        rows = [*endpoint.json["items"], endpoint.json["totals"]]
        assert len(rows) == len(expected["items"]) + 1
        for row, want in zip(rows, [*expected["items"], expected["totals"]], strict=True):
            assert row["period"] == want["period"]
            assert measures(row["total"]) == want["total"], (name, row["period"])
            got = {group["key"]: measures(group) for group in row["groups"]}
            assert got == want["groups"], (name, row["period"])

    endpoint, expected = answers["stats_green_travel"]
    figures = ("green_trips", "total_trips", "green_distance_m", "total_distance_m")
    assert {f: endpoint.json[f] for f in figures} == expected["total"]
    assert expected["total"]["total_trips"] > 0
    for item in endpoint.json["by_district"]:
        assert {f: item[f] for f in figures} == expected["by_district"][item["district_code"]]
    zero = dict.fromkeys(figures, 0)
    for item in endpoint.json["trend"]:
        assert {f: item[f] for f in figures} == expected["trend"].get(item["month"], zero)

    for period in ("all", "week", "month"):
        endpoint, expected = answers[f"leaderboard_residents_{period}"]
        assert endpoint.json["items"] == expected["items"], period
        assert endpoint.json["me"] == expected["me"], period
        endpoint, expected = answers[f"leaderboard_districts_{period}"]
        got = [{k: v for k, v in item.items() if k != "name"} for item in endpoint.json["items"]]
        assert got == expected["items"], period
    assert answers["leaderboard_residents_all"][1]["items"]

    for kind in ("school", "household"):
        for period in ("all", "week", "month"):
            endpoint, expected = answers[f"leaderboard_organizations_{kind}_{period}"]
            got = [item["per_member_g"] for item in endpoint.json["items"]]
            assert got == [per_member for per_member, _org in expected], (kind, period)
    assert answers["leaderboard_organizations_household_all"][1]
    endpoint, expected = answers["stats_organizations_month"]
    got = {
        row["id"]: (row["participants"], row["actions"], row["co2e_g"])
        for row in endpoint.json["organizations"]
        if row["participants"]
    }
    assert got == expected and expected


def test_raw_timings_and_endpoint_timings_print_every_query(generated, cli, tmp_path):
    result = cli.invoke(bench_cli, ["raw-timings", "--runs", "2", "--json"])
    assert result.exit_code == 0, result.output
    timings = json.loads(result.stdout)["timings"]
    assert set(timings) == set(raw.queries(0))
    assert all(t["runs"] == 2 and t["p95_ms"] >= t["median_ms"] >= 0 for t in timings.values())
    baseline = tmp_path / "raw.json"
    baseline.write_text(result.stdout)
    result = cli.invoke(
        bench_cli, ["endpoint-timings", "--runs", "2", "--json", "--raw", str(baseline)]
    )
    assert result.exit_code == 0, result.output
    timings = json.loads(result.stdout)["timings"]
    assert set(timings) == set(raw.queries(0))
    assert all("times_faster" in t for t in timings.values())


def test_tokens_command_issues_fresh_tokens_for_generated_residents(
    generated, cli, client, tmp_path
):
    out = tmp_path / "fresh.json"
    result = cli.invoke(bench_cli, ["tokens", "--count", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    residents = json.loads(out.read_text())["residents"]
    assert len(residents) == 3
    for resident in residents:
        headers = {"Authorization": f"Bearer {resident['access_token']}"}
        assert client.get("/api/v1/me", headers=headers).json["id"] == resident["id"]
