"""GET /api/v1/leaderboards/residents, /districts, /communities and /organizations: boards
with the caller's own place."""

from flask.views import MethodView

from backend.api import Blueprint
from backend.auth.guard import current_resident, resident_required
from campaigns.leaderboards import service
from campaigns.leaderboards.schemas import (
    CommunityBoardArgsSchema,
    CommunityBoardSchema,
    DistrictBoardArgsSchema,
    DistrictBoardSchema,
    OrganizationBoardArgsSchema,
    OrganizationBoardSchema,
    ResidentBoardArgsSchema,
    ResidentBoardSchema,
)
from campaigns.organizations import board as organization_board

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


COMMUNITY_BOARD_EXAMPLE = {
    "period": "w2026-49",
    "as_of": "2026-12-03T10:00:00+08:00",
    "district_code": "441202",
    "items": [
        {
            "rank": 1,
            "district_code": "441202",
            "community": "城东社区",
            "co2e_g": 52300,
            "participants": 14,
            "is_mine": True,
        }
    ],
    "me": {
        "district_code": "441202",
        "community": "城东社区",
        "rank": 1,
        "co2e_g": 52300,
        "participants": 14,
    },
}


@blp.route("/communities")
class Communities(MethodView):
    decorators = [resident_required]

    @blp.doc(security=[{"resident": []}])
    @blp.arguments(CommunityBoardArgsSchema, location="query")
    @blp.response(200, CommunityBoardSchema, example=COMMUNITY_BOARD_EXAMPLE)
    def get(self, args):
        """Communities by CO2e avoided in this week, month or all time, city-wide or in a
        district, with your community's place"""
        return service.community_board(
            current_resident(), args["period"], args["district_code"], args["limit"]
        )


ORGANIZATION_BOARD_EXAMPLE = {
    "kind": "school",
    "period": "w2026-49",
    "as_of": "2026-12-03T10:00:00+08:00",
    "district_code": None,
    "items": [
        {
            "rank": 1,
            "id": 12,
            "name": "端州区第一小学",
            "kind": "school",
            "district_code": "441202",
            "members": 340,
            "participants": 120,
            "co2e_g": 1530000,
            "per_member_g": 4500,
            "is_mine": True,
        }
    ],
    "me": {
        "id": 12,
        "name": "端州区第一小学",
        "rank": 1,
        "members": 340,
        "participants": 120,
        "co2e_g": 1530000,
        "per_member_g": 4500,
    },
}


@blp.route("/organizations")
class Organizations(MethodView):
    decorators = [resident_required]

    @blp.doc(security=[{"resident": []}])
    @blp.arguments(OrganizationBoardArgsSchema, location="query")
    @blp.response(200, OrganizationBoardSchema, example=ORGANIZATION_BOARD_EXAMPLE)
    def get(self, args):
        """Organisations of a kind by CO2e avoided per member in this week, month or all
        time, city-wide or in a district, with your organisation's place"""
        return organization_board.organization_board(
            current_resident(), args["kind"], args["period"], args["district_code"], args["limit"]
        )
