"""POST /api/v1/auth/*: one-time codes, sign-in, WeChat login, refresh, logout."""

from __future__ import annotations

from flask import current_app, request
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
from backend.residents.phone import InvalidPhone, normalise_phone, phone_hmac

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Residents' sign-in")


def _phone_key() -> str:
    body = request.get_json(silent=True)
    raw = body.get("phone") if isinstance(body, dict) else None
    try:
        return "phone:" + phone_hmac(normalise_phone(raw if isinstance(raw, str) else ""))
    except InvalidPhone:
        return "phone:invalid"


def _sent(response) -> bool:
    return response.status_code == 202


otp_per_phone = limiter.limit(
    lambda: current_app.config["OTP_LIMIT_PER_PHONE"],
    key_func=_phone_key,
    scope="otp-phone",
    deduct_when=_sent,  # only codes actually sent use up a phone's allowance
)
otp_per_ip = limiter.limit(
    lambda: current_app.config["OTP_LIMIT_PER_IP"], key_func=get_remote_address, scope="otp-ip"
)
login_per_ip = limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_IP"], key_func=get_remote_address, scope="login-ip"
)


@blp.route("/otp")
class RequestCode(MethodView):
    decorators = [otp_per_ip, otp_per_phone]

    @blp.arguments(OtpRequestSchema)
    @blp.response(202, OtpSentSchema)
    @blp.alt_response(
        429,
        schema=ErrorSchema,
        description="rate_limited: too many codes for this phone or address",
    )
    @blp.alt_response(
        502, schema=ErrorSchema, description="upstream_unavailable: the SMS service did not answer"
    )
    def post(self, body):
        """Text a 6-digit sign-in code to a phone"""
        dev_code = service.request_code(body["phone"])
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
    @blp.alt_response(429, schema=ErrorSchema, description="rate_limited")
    def post(self, body):
        """Sign in (or sign up) with the code texted to your phone"""
        return service.login_with_code(body["phone"], body["code"])


@blp.route("/wechat")
class LoginWithWechat(MethodView):
    decorators = [login_per_ip]

    @blp.arguments(WechatLoginSchema)
    @blp.response(200, TokenPairSchema)
    @blp.alt_response(401, schema=ErrorSchema, description="the WeChat code was refused")
    @blp.alt_response(403, schema=ErrorSchema, description="account_suspended")
    @blp.alt_response(429, schema=ErrorSchema, description="rate_limited")
    @blp.alt_response(
        502, schema=ErrorSchema, description="upstream_unavailable: WeChat did not answer"
    )
    def post(self, body):
        """Sign in (or sign up) with a WeChat mini-program login code"""
        return service.login_with_wechat(body["code"])


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
