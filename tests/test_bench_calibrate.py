"""POST /api/v1/bench/calibrate: one committed INSERT, only in a benchmark configuration."""

import pytest
import sqlalchemy as sa

from tests.live_server import live_server


def test_calibrate_does_not_exist_by_default(client):
    assert client.post("/api/v1/bench/calibrate").status_code == 404
    assert "/api/v1/bench/calibrate" not in client.get("/api/openapi.json").json["paths"]


@pytest.fixture(scope="module")
def bench_server(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("BENCHMARK_ENDPOINTS", "1")
        with live_server(tmp_path_factory.mktemp("live-bench"), workers=1) as live:
            yield live


@pytest.mark.real_clock  # a server in another process, on the machine's clock
def test_calibrate_commits_one_row_per_request_without_auth(bench_server):
    ids = []
    for _ in range(3):
        reply = bench_server.call("POST", "/api/v1/bench/calibrate")
        assert reply.status == 201
        assert set(reply.body) == {"id"}
        ids.append(reply.body["id"])
    assert len(set(ids)) == 3
    # Read on a connection of our own: the rows are committed, not just flushed.
    with bench_server.engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT id, payload FROM bench_calibration")).all()
    assert sorted(row.id for row in rows) == sorted(ids)
    assert all(row.payload for row in rows)
