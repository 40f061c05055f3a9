"""POST /api/v1/auth/*: one-time codes, sign-in, WeChat login, refresh, logout."""

from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_limiter.util import get_remote_address

from backend.api import Blueprint, ErrorSchema
from backend.auth import service
from backend.auth.guard import current_session, resident_required
from backend.auth.schemas import (
    OtpLoginSchema,
    OtpRequestSchema,
    OtpSentSchema,
    RefreshSchema,
    TokenPairSchema,
    WechatLoginSchema,
)
from backend.extensions import limiter

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Residents' sign-in")


# Codes per phone are counted in the database where they are sent (service.request_code);
# these limits are kept in the limiter's shared storage (Redis in production).
otp_per_ip = limiter.limit(
    lambda: current_app.config["OTP_LIMIT_PER_IP"], key_func=get_remote_address, scope="otp-ip"
)
login_per_ip = limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_IP"], key_func=get_remote_address, scope="login-ip"
)


@blp.route("/otp")
class RequestCode(MethodView):
    decorators = [otp_per_ip]

    @blp.arguments(OtpRequestSchema)
    @blp.response(202, OtpSentSchema)
    @blp.alt_response(
        403,
        schema=ErrorSchema,
        description="captcha_required or captcha_invalid: pass the human verification first",
    )
    @blp.alt_response(
        429,
        schema=ErrorSchema,
        description="rate_limited: too many codes for this phone or address; "
        "sms_budget_exhausted: the day's text messages (city, number block or address) are "
        "used up. Retry-After says when to try again",
    )
    @blp.alt_response(
        502,
        schema=ErrorSchema,
        description="sms_unavailable or captcha_unavailable: an external service did not answer",
    )
    @blp.alt_response(
        503, schema=ErrorSchema, description="rate_limit_unavailable: limits cannot be checked"
    )
    def post(self, body):
        """Text a 6-digit sign-in code to a phone"""
        dev_code = service.request_code(
            body["phone"], get_remote_address(), body.get("captcha_ticket")
        )
        sent = {"expires_in": current_app.config["OTP_TTL_SECONDS"]}
        if dev_code is not None:
            sent["dev_code"] = dev_code
        return sent


@blp.route("/login")
class LoginWithCode(MethodView):
    decorators = [login_per_ip]

    @blp.arguments(OtpLoginSchema)
    @blp.response(200, TokenPairSchema)
    @blp.alt_response(
        401, schema=ErrorSchema, description="otp_invalid, otp_expired or otp_exhausted"
    )
    @blp.alt_response(403, schema=ErrorSchema, description="account_suspended")
    @blp.alt_response(
        422,
        schema=ErrorSchema,
        description="consent_required (fields.privacy_version): a new resident must send the "
        "version in force, and any version sent must be it. The code is not spent",
    )
    @blp.alt_response(429, schema=ErrorSchema, description="rate_limited")
    def post(self, body):
        """Sign in (or sign up, accepting the privacy notice) with the code texted to you"""
        return service.login_with_code(body["phone"], body["code"], body.get("privacy_version"))


@blp.route("/wechat")
class LoginWithWechat(MethodView):
    decorators = [login_per_ip]

    @blp.arguments(WechatLoginSchema)
    @blp.response(200, TokenPairSchema)
    @blp.alt_response(401, schema=ErrorSchema, description="the WeChat code was refused")
    @blp.alt_response(403, schema=ErrorSchema, description="account_suspended")
    @blp.alt_response(
        422,
        schema=ErrorSchema,
        description="consent_required (fields.privacy_version): a new resident must send the "
        "version in force; ask wx.login() for a new code to retry",
    )
    @blp.alt_response(429, schema=ErrorSchema, description="rate_limited")
    @blp.alt_response(
        502, schema=ErrorSchema, description="upstream_unavailable: WeChat did not answer"
    )
    def post(self, body):
        """Sign in (or sign up, accepting the privacy notice) with a WeChat login code"""
        return service.login_with_wechat(body["code"], body.get("privacy_version"))


@blp.route("/refresh")
class Refresh(MethodView):
    decorators = [login_per_ip]

    @blp.arguments(RefreshSchema)
    @blp.response(200, TokenPairSchema)
    @blp.alt_response(401, schema=ErrorSchema, description="token_invalid or token_expired")
    @blp.alt_response(403, schema=ErrorSchema, description="account_suspended")
    @blp.alt_response(429, schema=ErrorSchema, description="rate_limited")
    def post(self, body):
        """Trade a refresh token for a new token pair (the old pair stops working)"""
        return service.refresh(body["refresh_token"])


@blp.route("/logout")
class Logout(MethodView):
    decorators = [resident_required]

    @blp.doc(security=[{"resident": []}])
    @blp.response(204)
    def post(self):
        """End this session: both its tokens stop working"""
        service.logout(current_session())
