"""Residents' campaign endpoints: browse, join, check in; their campaigns, check-ins and
share card."""

from flask import Response
from flask.views import MethodView

from backend.api import Blueprint, ErrorSchema
from backend.auth.guard import current_resident, resident_required
from backend.pagination import PageArgsSchema, page_schema, paginate
from campaigns import checkins, service
from campaigns.models import Checkin, Enrolment
from campaigns.schemas import (
    CampaignListSchema,
    CampaignOrganizationBoardSchema,
    CampaignSchema,
    CheckinRequestSchema,
    CheckinSchema,
    EnrolmentSchema,
    MyCampaignSchema,
    MyCheckinSchema,
)
from campaigns.share_card import share_card_png

blp = Blueprint("campaigns", __name__, url_prefix="/api/v1", description="Campaigns")
RESIDENT = [{"resident": []}]
MyCampaignPageSchema = page_schema(MyCampaignSchema, "MyCampaignPage")
MyCheckinPageSchema = page_schema(MyCheckinSchema, "MyCheckinPage")

MY_CAMPAIGNS_EXAMPLE = {
    "items": [
        {
            "id": 3,
            "title": "绿色出行周",
            "description": "",
            "event_key": None,
            "starts_at": "2026-12-01T00:00:00+08:00",
            "ends_at": "2026-12-08T00:00:00+08:00",
            "district_codes": [],
            "status": "published",
            "rules": {
                "multipliers": {"trip:bus": 2.0},
                "join_bonus": 50,
                "checkin_points": 20,
                "effective_from": "2026-12-01T00:00:00+08:00",
            },
            "goal_co2e_g": 1000000,
            "progress_co2e_g": 43120,
            "participants": 57,
            "enrolled": True,
            "enrolled_at": "2026-12-02T09:30:00+08:00",
            "mine": {
                "co2e_g": 1840,
                "actions": 4,
                "join_bonus": 50,
                "action_bonus": 36,
                "bonus_points": 86,
                "checkin_points": 20,
            },
        }
    ],
    "next_cursor": None,
}
MY_CHECKINS_EXAMPLE = {
    "items": [
        {
            "id": 12,
            "campaign_id": 3,
            "point_name": "东门",
            "place": "星湖公园",
            "points": 20,
            "local_day": "2026-12-03",
            "created_at": "2026-12-03T10:15:00+08:00",
        }
    ],
    "next_cursor": None,
}


@blp.route("/campaigns")
class Campaigns(MethodView):
    decorators = [resident_required]

    @blp.doc(security=RESIDENT)
    @blp.response(200, CampaignListSchema)
    def get(self):
        """Published campaigns open to your district, soonest first"""
        resident = current_resident()
        return {
            "items": [service.describe(c, resident.id) for c in service.visible_campaigns(resident)]
        }


@blp.route("/campaigns/<int:campaign_id>")
class OneCampaign(MethodView):
    decorators = [resident_required]

    @blp.doc(security=RESIDENT)
    @blp.response(200, CampaignSchema)
    def get(self, campaign_id):
        """A campaign with its live goal progress"""
        resident = current_resident()
        return service.describe(service.visible_campaign(resident, campaign_id), resident.id)


@blp.route("/campaigns/<int:campaign_id>/organizations")
class CampaignOrganizations(MethodView):
    decorators = [resident_required]

    @blp.doc(security=RESIDENT)
    @blp.response(200, CampaignOrganizationBoardSchema)
    def get(self, campaign_id):
        """A campaign's organisations with the most verified grams first, towards the team
        goal (other households without their names)"""
        resident = current_resident()
        campaign = service.visible_campaign(resident, campaign_id)
        return {"items": service.resident_board(campaign, resident.id, service.ORGANIZATIONS_SHOWN)}


@blp.route("/campaigns/<int:campaign_id>/enrol")
class Enrol(MethodView):
    decorators = [resident_required]

    @blp.doc(security=RESIDENT)
    @blp.response(201, EnrolmentSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="already_enrolled or campaign_over")
    @blp.alt_response(
        403,
        schema=ErrorSchema,
        description="campaign_for_organizations: you hold no membership of an organisation "
        "the campaign is for",
    )
    def post(self, campaign_id):
        """Join a campaign (its join bonus is paid once)"""
        enrolment, bonus = service.enrol(current_resident(), campaign_id)
        return {
            "campaign_id": campaign_id,
            "enrolled_at": enrolment.enrolled_at,
            "join_bonus": bonus,
        }


@blp.route("/checkins")
class Checkins(MethodView):
    decorators = [resident_required]

    @blp.doc(security=RESIDENT)
    @blp.arguments(CheckinRequestSchema)
    @blp.response(201, CheckinSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="checkin_already_today")
    def post(self, body):
        """Check in by the token of a scanned QR code: once per point per day"""
        return checkins.check_in(current_resident(), body["token"], body["location"])


@blp.route("/me/share-card.png")
class ShareCard(MethodView):
    decorators = [resident_required]

    @blp.doc(security=RESIDENT)
    @blp.response(200, content_type="image/png")
    def get(self):
        """Your share card: CO2e avoided, trees-equivalent, a QR inviting friends"""
        return Response(share_card_png(current_resident()), mimetype="image/png")


@blp.route("/me/campaigns")
class MyCampaigns(MethodView):
    decorators = [resident_required]

    @blp.doc(security=RESIDENT)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, MyCampaignPageSchema, example=MY_CAMPAIGNS_EXAMPLE)
    def get(self, args):
        """The campaigns you joined, latest campaign first, with their progress and your
        share: grams counted, bonuses and check-in points earned"""
        page = paginate(
            service.enrolments_query(current_resident().id),
            Enrolment.campaign_id,
            args["limit"],
            args["cursor"],
        )
        return {**page, "items": service.describe_enrolments(page["items"])}


@blp.route("/me/checkins")
class MyCheckins(MethodView):
    decorators = [resident_required]

    @blp.doc(security=RESIDENT)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, MyCheckinPageSchema, example=MY_CHECKINS_EXAMPLE)
    def get(self, args):
        """Your check-ins, newest first"""
        query = service.checkins_query(current_resident().id)
        return paginate(query, Checkin.id, args["limit"], args["cursor"])
