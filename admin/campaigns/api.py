"""/api/v1/staff/campaigns: create, edit, publish, end; check-in points, posters, rotation."""

from flask import Response
from flask.views import MethodView

from backend.api import Blueprint, ErrorSchema
from backend.pagination import PageArgsSchema, page_schema, paginate
from backend.staff.guard import current_staff, staff_required
from campaigns import checkins, service
from campaigns.models import Campaign
from campaigns.schemas import (
    CampaignEditSchema,
    CampaignWriteSchema,
    CheckinLocationSchema,
    CheckinPointListSchema,
    CheckinPointSchema,
    CheckinPointWriteSchema,
    StaffCampaignListArgs,
    StaffCampaignSchema,
)

blp = Blueprint(
    "staff_campaigns", __name__, url_prefix="/api/v1/staff", description="Staff: campaigns"
)
STAFF = [{"staff": []}]
MANAGE = staff_required("manage_campaigns")


class CampaignListArgs(PageArgsSchema, StaffCampaignListArgs):
    pass


def _point(point) -> dict:
    return {
        **{c.key: getattr(point, c.key) for c in point.__table__.columns},
        "token": checkins.token_for(point),
    }


@blp.route("/campaigns")
class StaffCampaigns(MethodView):
    decorators = [MANAGE]

    @blp.doc(security=STAFF)
    @blp.arguments(CampaignListArgs, location="query")
    @blp.response(200, page_schema(StaffCampaignSchema, "StaffCampaignPage"))
    def get(self, args):
        """Every campaign, newest first"""
        page = paginate(
            service.staff_campaigns_query(args.get("status")),
            Campaign.id,
            args["limit"],
            args["cursor"],
        )
        return {**page, "items": [service.describe(c) for c in page["items"]]}

    @blp.doc(security=STAFF)
    @blp.arguments(CampaignWriteSchema)
    @blp.response(201, StaffCampaignSchema)
    def post(self, body):
        """Create a draft campaign with its rules"""
        return service.describe(service.create_campaign(body, current_staff().id))


@blp.route("/campaigns/<int:campaign_id>")
class StaffCampaign(MethodView):
    decorators = [MANAGE]

    @blp.doc(security=STAFF)
    @blp.response(200, StaffCampaignSchema)
    def get(self, campaign_id):
        """A campaign with its rules history and live figures"""
        return service.describe(service.get_campaign(campaign_id))

    @blp.doc(security=STAFF)
    @blp.arguments(CampaignEditSchema(partial=True))
    @blp.response(200, StaffCampaignSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="campaign_ended or campaign_published")
    def patch(self, changes, campaign_id):
        """Edit; a published campaign's rule changes apply from now on, never to the past"""
        return service.describe(service.edit_campaign(campaign_id, changes))


@blp.route("/campaigns/<int:campaign_id>/publish")
class Publish(MethodView):
    decorators = [MANAGE]

    @blp.doc(security=STAFF)
    @blp.response(200, StaffCampaignSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="campaign_not_draft")
    def post(self, campaign_id):
        """Publish a draft: residents see it"""
        return service.describe(service.publish_campaign(campaign_id))


@blp.route("/campaigns/<int:campaign_id>/end")
class End(MethodView):
    decorators = [MANAGE]

    @blp.doc(security=STAFF)
    @blp.response(200, StaffCampaignSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="campaign_not_published")
    def post(self, campaign_id):
        """End a published campaign now"""
        return service.describe(service.end_campaign(campaign_id))


@blp.route("/campaigns/<int:campaign_id>/checkin-points")
class CheckinPoints(MethodView):
    decorators = [MANAGE]

    @blp.doc(security=STAFF)
    @blp.response(200, CheckinPointListSchema)
    def get(self, campaign_id):
        """A campaign's check-in points with their current tokens"""
        return {"items": [_point(p) for p in checkins.points_of(campaign_id)]}

    @blp.doc(security=STAFF)
    @blp.arguments(CheckinPointWriteSchema)
    @blp.response(201, CheckinPointSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="campaign_ended")
    def post(self, body, campaign_id):
        """Create a check-in point (its window defaults to the campaign's)"""
        return _point(checkins.create_point(campaign_id, body))


@blp.route("/checkin-points/<int:point_id>/location")
class Location(MethodView):
    decorators = [MANAGE]

    @blp.doc(security=STAFF)
    @blp.arguments(CheckinLocationSchema)
    @blp.response(200, CheckinPointSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="campaign_ended")
    def put(self, body, point_id):
        """Set a point's location, radius and mode (poster or an event screen's rotating code)"""
        return _point(checkins.set_location(point_id, body))


@blp.route("/checkin-points/<int:point_id>/rotate")
class Rotate(MethodView):
    decorators = [MANAGE]

    @blp.doc(security=STAFF)
    @blp.response(200, CheckinPointSchema)
    def post(self, point_id):
        """Issue a new token: every printed code of this point stops working"""
        return _point(checkins.rotate(point_id))


@blp.route("/checkin-points/<int:point_id>/poster.png")
class Poster(MethodView):
    decorators = [MANAGE]

    @blp.doc(security=STAFF)
    @blp.response(200, content_type="image/png")
    @blp.alt_response(409, schema=ErrorSchema, description="checkin_point_rotating")
    def get(self, point_id):
        """A printable A4 poster: the QR code, the campaign, the place and the dates"""
        png = checkins.poster_png(point_id)
        return Response(
            png,
            mimetype="image/png",
            headers={"Content-Disposition": f'attachment; filename="checkin-{point_id}.png"'},
        )
