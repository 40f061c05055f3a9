"""The demo's Energy Saving Week has an effect a newcomer can see: `flask demo seed` (as
`make demo` runs it) leaves the campaign's impact computed, with participants who have a
baseline and comparable residents who did not take part, and the participants' green
trips clearly up by both estimates, as the DRB reads them with the demo's key."""

import json
from pathlib import Path

import pytest

from admin.demo import DEMO_CAMPAIGN

pytestmark = pytest.mark.real_clock


def test_the_demo_campaign_shows_a_rise_in_green_trips(demo_server):
    path = Path(demo_server.env["INSTANCE_PATH"]) / "demo-credentials.json"
    drb = {"Authorization": f"Bearer {json.loads(path.read_text())['drb_api_key']}"}
    staff = demo_server.staff_headers("demo-impact-admin", "campaign_admin")
    listed = demo_server.call("GET", "/api/v1/staff/campaigns?limit=100", None, staff).body
    campaign = next(c for c in listed["items"] if c["title"] == DEMO_CAMPAIGN)

    reply = demo_server.call("GET", f"/api/v1/stats/campaigns/{campaign['id']}/impact", None, drb)
    assert reply.status == 200, reply.body
    report = reply.body  # computed by the seed itself (or recomputed since: the same data)
    assert report["status"] == "estimated", report["message"]
    counts = report["participants"]
    assert counts["with_baseline"] == counts["participants"] >= 20
    assert report["comparison_group"]["residents"] >= 10
    for estimate in report["estimates"]:
        if estimate["metric"] == "green_trips_per_day":
            assert estimate["status"] == "estimated", estimate
            assert 0 < estimate["low"] < estimate["change"] < estimate["high"] < 1.5, estimate
            assert "增加" in estimate["sentence"] and "区间包含 0" not in estimate["sentence"]
