"""/api/v1/stats/campaigns/<id>/impact: what a campaign changed, for the DRB and staff."""

from flask.views import MethodView

from admin.impact.report import impact_report
from admin.impact.schemas import ImpactSchema
from admin.stats.guard import stats_reader_required
from backend.api import Blueprint
from backend.errors import NotFound
from backend.extensions import db
from campaigns.models import Campaign

blp = Blueprint(
    "campaign_impact",
    __name__,
    url_prefix="/api/v1/stats",
    description="DRB statistics: what a campaign changed (aggregates only)",
)
READERS = [{"drb": []}, {"staff": []}]


@blp.route("/campaigns/<int:campaign_id>/impact")
class Impact(MethodView):
    decorators = [stats_reader_required]

    @blp.doc(security=READERS)
    @blp.response(200, ImpactSchema)
    def get(self, campaign_id: int):
        """The campaign's latest computed impact: participants' green trips per day, green
        share and verified CO2e per day against their own baseline and against comparable
        non-participants, each with a 95% interval and the residents and days behind it"""
        campaign = db.session.get(Campaign, campaign_id)
        if campaign is None or campaign.status == "draft":
            raise NotFound()
        return impact_report(campaign)
