"""Residents' campaign endpoints: browse, join, check in; their share card."""

from flask import Response
from flask.views import MethodView

from backend.api import Blueprint, ErrorSchema
from backend.auth.guard import current_resident, resident_required
from campaigns import checkins, service
from campaigns.schemas import (
    CampaignListSchema,
    CampaignSchema,
    CheckinRequestSchema,
    CheckinSchema,
    EnrolmentSchema,
)
from campaigns.share_card import share_card_png

blp = Blueprint("campaigns", __name__, url_prefix="/api/v1", description="Campaigns")
RESIDENT = [{"resident": []}]


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


@blp.route("/campaigns/<int:campaign_id>/enrol")
class Enrol(MethodView):
    decorators = [resident_required]

    @blp.doc(security=RESIDENT)
    @blp.response(201, EnrolmentSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="already_enrolled or campaign_over")
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
