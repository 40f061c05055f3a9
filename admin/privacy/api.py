"""GET /api/v1/me/export and POST /api/v1/me/delete-account: a resident's rights over their data."""

import marshmallow as ma
from flask.views import MethodView

from admin.privacy import service
from backend.api import Blueprint, ErrorSchema, Schema
from backend.auth.api import login_per_ip
from backend.auth.guard import current_resident, resident_required
from backend.auth.schemas import ReconfirmSchema

blp = Blueprint("privacy", __name__, url_prefix="/api/v1/me", description="Your data rights")
RESIDENT = [{"resident": []}]


class ExportSchema(Schema):
    generated_at = ma.fields.String()
    profile = ma.fields.Dict()
    account = ma.fields.Dict()
    actions = ma.fields.List(ma.fields.Dict())
    ledger = ma.fields.List(ma.fields.Dict())
    points_adjustments = ma.fields.List(ma.fields.Dict())
    photos = ma.fields.List(ma.fields.Dict())
    redemptions = ma.fields.List(ma.fields.Dict())
    campaign_enrolments = ma.fields.List(ma.fields.Dict())
    checkins = ma.fields.List(ma.fields.Dict())
    organizations = ma.fields.List(
        ma.fields.Dict(),
        metadata={
            "description": "your memberships of organisations, open and ended "
            "(organization_name, kind, role, joined_at, left_at, end_reason)"
        },
    )
    badges = ma.fields.List(ma.fields.Dict())
    partner_links = ma.fields.List(ma.fields.Dict())
    sessions = ma.fields.List(ma.fields.Dict())
    consents = ma.fields.List(
        ma.fields.Dict(),
        metadata={
            "description": "each consent you gave (scope privacy or location, the notice's "
            "version, accepted_at) and when you withdrew it (withdrawn_at, or null)"
        },
    )
    children = ma.fields.List(
        ma.fields.Dict(),
        metadata={
            "description": "for each child under 14 you are the guardian of: their profile "
            "(nickname), account, actions, ledger, photos, badges, consents... as above"
        },
    )
    kept_limits = ma.fields.List(
        ma.fields.Dict(),
        metadata={
            "description": "limits a deleted account of your phone or WeChat had used "
            "(reward redemptions, campaign join bonuses, badge points): they count as yours "
            "until keep_until"
        },
    )


@blp.route("/export")
class Export(MethodView):
    decorators = [resident_required]

    @blp.doc(security=RESIDENT)
    @blp.response(200, ExportSchema)
    def get(self):
        """Everything held about you, as JSON (your phone number included: it is yours)

        What staff did (a review, an adjustment, a redemption accepted) says `"staff"`, not
        who; a photo flagged as a copy of an earlier one says `flagged_duplicate`, not whose."""
        return service.export(current_resident())


@blp.route("/delete-account")
class DeleteAccount(MethodView):
    decorators = [login_per_ip, resident_required]

    @blp.doc(security=RESIDENT)
    @blp.arguments(ReconfirmSchema)
    @blp.response(204)
    @blp.alt_response(
        401,
        schema=ErrorSchema,
        description="otp_invalid, otp_expired, otp_exhausted, wechat_code_invalid or "
        "wechat_identity_mismatch: nothing is deleted",
    )
    @blp.alt_response(429, schema=ErrorSchema, description="rate_limited")
    def post(self, body):
        """Delete your account: your phone, WeChat link, nickname and photos are erased.

        Unused redemption codes become void at once. For as long as the limits you used last
        (at most TOMBSTONE_MAX_DAYS), a keyed hash of your phone / WeChat identity is kept:
        signing up again with it starts from the same daily caps, reward limits and paid
        bonuses. Your points are not carried over.

        Re-confirm who asks with `code`: a fresh code texted to your own phone by
        POST /api/v1/auth/otp, or, for an account without a phone, a new wx.login() code."""
        service.delete_account(current_resident(), body["code"])
