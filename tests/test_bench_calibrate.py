"""POST /api/v1/bench/calibrate: one committed INSERT, served only by the benchmark's app
(loadtests.app), which keeps its table out of the service's schema."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from backend.config import Config, ConfigError
from backend.db import Base
from loadtests import app as bench_app
from loadtests.server import BENCH_APP, BENCH_CLI, flask
from tests.live_server import live_server


def test_the_service_neither_serves_the_calibration_nor_has_its_table_or_commands(
    app, client, db_session
):
    assert client.post("/api/v1/bench/calibrate").status_code == 404
    assert "/api/v1/bench/calibrate" not in client.get("/api/openapi.json").json["paths"]
    assert "bench" not in app.cli.commands
    assert "bench_calibration" not in Base.metadata.tables
    # The migrations leave no benchmark table in the service's schema.
    assert "bench_calibration" not in sa.inspect(db_session.connection()).get_table_names()


def test_the_benchmark_app_refuses_a_production_configuration():
    with pytest.raises(ConfigError, match="not in production"):
        bench_app.create_app(Config.from_env({"APP_ENV": "production"}))


@pytest.fixture(scope="module")
def bench_server(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("live-bench"), workers=2, app=BENCH_APP) as live:
        yield live


@pytest.mark.real_clock  # a server in another process, on the machine's clock
def test_calibrate_commits_one_row_per_request_without_auth(bench_server):
    # The first requests arrive together: both workers find the table missing at once.
    with ThreadPoolExecutor(max_workers=6) as pool:
        replies = list(
            pool.map(lambda _: bench_server.call("POST", "/api/v1/bench/calibrate"), range(12))
        )
    assert [reply.status for reply in replies] == [201] * 12
    assert all(set(reply.body) == {"id"} for reply in replies)
    ids = [reply.body["id"] for reply in replies]
    assert len(set(ids)) == 12
    # Read on a connection of our own: the rows are committed, not just flushed.
    with bench_server.engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT id, payload FROM bench_calibration")).all()
    assert sorted(row.id for row in rows) == sorted(ids)
    assert all(row.payload for row in rows)


def test_the_benchmark_app_has_the_bench_commands(bench_server):
    usage = flask(bench_server.env, "bench", "--help", app=BENCH_CLI)
    for command in ("generate", "tokens", "raw-timings", "endpoint-timings"):
        assert command in usage
