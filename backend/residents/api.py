"""GET/PATCH /api/v1/me: the signed-in resident's own profile; POST /api/v1/me/phone."""

from flask.views import MethodView

from backend.api import Blueprint, ErrorSchema
from backend.auth import service as auth
from backend.auth.api import login_per_ip
from backend.auth.guard import current_resident, current_session, resident_required
from backend.auth.schemas import PhoneBindSchema, TokenPairSchema
from backend.residents import service
from backend.residents.schemas import ResidentSchema, ResidentUpdateSchema

blp = Blueprint("me", __name__, url_prefix="/api/v1/me", description="The signed-in resident")


@blp.route("")
class Me(MethodView):
    decorators = [resident_required]

    @blp.doc(security=[{"resident": []}])
    @blp.response(200, ResidentSchema)
    def get(self):
        """Your profile"""
        return current_resident()

    @blp.doc(security=[{"resident": []}])
    @blp.arguments(ResidentUpdateSchema)
    @blp.response(200, ResidentSchema)
    def patch(self, changes):
        """Set your nickname, district and community"""
        return service.update_profile(current_resident(), changes)


@blp.route("/phone")
class Phone(MethodView):
    decorators = [login_per_ip, resident_required]

    @blp.doc(security=[{"resident": []}])
    @blp.arguments(PhoneBindSchema)
    @blp.response(200, TokenPairSchema)
    @blp.alt_response(
        401, schema=ErrorSchema, description="otp_invalid, otp_expired or otp_exhausted"
    )
    @blp.alt_response(403, schema=ErrorSchema, description="account_suspended")
    @blp.alt_response(
        409,
        schema=ErrorSchema,
        description="phone_already_bound: your account has a phone; phone_in_use: the "
        "phone's account has data and so has yours; phone_has_other_wechat: the phone's "
        "account is linked to another WeChat",
    )
    @blp.alt_response(429, schema=ErrorSchema, description="rate_limited")
    def post(self, body):
        """Bind a phone to your (WeChat) account, with the code texted to it first

        A phone without an account is bound to yours. If the phone has an account and yours
        is still empty (no action, points, photo, enrolment, check-in, redemption, partner
        link...), your WeChat joins the phone's account: yours is closed, its tokens stop
        working, and the tokens returned are the phone's account's. Use them from now on."""
        return auth.bind_phone(current_session(), body["phone"], body["code"])
