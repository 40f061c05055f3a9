"""GET /api/v1/me/badges: every badge, whether you earned it, and your streak."""

from flask.views import MethodView

from backend.api import Blueprint
from backend.auth.guard import current_resident, resident_required
from campaigns.badges import service
from campaigns.badges.schemas import MyBadgesSchema

blp = Blueprint("badges", __name__, url_prefix="/api/v1/me", description="Your badges and streak")


@blp.route("/badges")
class MyBadges(MethodView):
    decorators = [resident_required]

    @blp.doc(security=[{"resident": []}])
    @blp.response(200, MyBadgesSchema)
    def get(self):
        """Every badge with whether and when you earned it, and your streak of days"""
        return service.my_badges(current_resident().id)
