"""GET /api/v1/leaderboards/residents and /districts: boards with the caller's own place."""

from flask.views import MethodView

from backend.api import Blueprint
from backend.auth.guard import current_resident, resident_required
from campaigns.leaderboards import service
from campaigns.leaderboards.schemas import (
    DistrictBoardArgsSchema,
    DistrictBoardSchema,
    ResidentBoardArgsSchema,
    ResidentBoardSchema,
)

blp = Blueprint(
    "leaderboards",
    __name__,
    url_prefix="/api/v1/leaderboards",
    description="Leaderboards by CO2e avoided",
)


@blp.route("/residents")
class Residents(MethodView):
    decorators = [resident_required]

    @blp.doc(security=[{"resident": []}])
    @blp.arguments(ResidentBoardArgsSchema, location="query")
    @blp.response(200, ResidentBoardSchema)
    def get(self, args):
        """Top residents of this week, month or all time, city-wide or in a district"""
        return service.resident_board(
            current_resident().id, args["period"], args["district_code"], args["limit"]
        )


@blp.route("/districts")
class Districts(MethodView):
    decorators = [resident_required]

    @blp.doc(security=[{"resident": []}])
    @blp.arguments(DistrictBoardArgsSchema, location="query")
    @blp.response(200, DistrictBoardSchema)
    def get(self, args):
        """Districts by CO2e avoided per participating resident"""
        return service.district_board(current_resident().district_code, args["period"])
