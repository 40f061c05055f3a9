"""The demo's Energy Saving Week has an effect a newcomer can see: `flask demo seed` leaves
the campaign's impact computed, participants with a baseline and comparable residents who
did not take part, and the participants' green trips clearly up by both estimates."""

from sqlalchemy import select

from admin.demo import DEMO_CAMPAIGN
from admin.impact import service as impact
from campaigns.models import Campaign
from tests.moments import beijing


def test_the_demo_campaign_shows_a_rise_in_green_trips(app, clock, db_session):
    # Early morning in Zhaoqing, the UTC date still the day before: every seeded day is
    # a whole local day in the past.
    clock.move_to(beijing(2026, 11, 19, 6))
    cli = app.test_cli_runner()
    result = cli.invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    campaign = db_session.scalar(select(Campaign).where(Campaign.title == DEMO_CAMPAIGN))

    with app.app_context():
        row = impact.latest(campaign.id)  # computed by the seed itself
    assert row is not None and row.status == "estimated", row and row.reason
    assert str(row.through) == "2026-11-18"
    counts = row.figures["counts"]
    assert counts["with_baseline"] == counts["participants"] >= 20
    methods = row.figures["methods"]
    assert methods["comparison"]["comparison_residents"] >= 10
    for name in ("baseline", "comparison"):
        method = methods[name]
        assert method["status"] == "estimated", (name, method["reason"])
        green = method["metrics"]["green_trips_per_day"]
        assert green["status"] == "estimated"
        assert 0 < green["low"] < green["change"] < green["high"] < 1.5, (name, green)

    recomputed = cli.invoke(args=["stats", "impact", "--campaign", str(campaign.id)])
    assert recomputed.exit_code == 0, recomputed.output
    assert f"campaign {campaign.id} through 2026-11-18: estimated, " in recomputed.output
    assert f"{counts['participants']} participants" in recomputed.output
