"""Sign-in requests and token responses."""

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from backend.api import Schema
from backend.i18n import N_
from backend.residents.phone import InvalidPhone, normalise_phone
from backend.residents.schemas import ResidentSchema


class PhoneField(ma.fields.String):
    """A mainland China mobile number, normalised to 11 digits on load."""

    def _deserialize(self, value, attr, data, **kwargs):
        raw = super()._deserialize(value, attr, data, **kwargs)
        try:
            return normalise_phone(raw)
        except InvalidPhone as exc:
            raise ma.ValidationError(N_("Not a valid mainland China mobile number.")) from exc


class OtpRequestSchema(Schema):
    phone = PhoneField(required=True, metadata={"example": "13800138000"})
    captcha_ticket = ma.fields.String(
        validate=ma.validate.Length(min=1, max=4096),
        metadata={
            "description": "the human verification's ticket, when the service requires one "
            "(development's fake verifier passes 'fake-captcha-pass')"
        },
    )


class OtpSentSchema(Schema):
    expires_in = ma.fields.Integer(metadata={"description": "seconds the code stays valid"})
    dev_code = ma.fields.String(
        metadata={"description": "development SMS sender only; never present in production"}
    )


def _privacy_version() -> ma.fields.String:
    return ma.fields.String(
        validate=ma.validate.Length(min=1, max=32),
        metadata={
            "description": "the version of GET /api/v1/legal/privacy the person accepted: "
            "required to sign up (422 consent_required without it, or with another "
            "version); an existing resident sending it accepts that version",
            "example": "2026-12-03",
        },
    )


def _otp_code() -> ma.fields.String:
    return ma.fields.String(
        required=True,
        validate=ma.validate.Regexp(r"^\d{6}$", error=_l("The code is 6 digits.")),
        metadata={"description": "the code texted by POST /api/v1/auth/otp"},
    )


class OtpLoginSchema(Schema):
    OPENAPI_EXAMPLE = {"phone": "13800138000", "code": "480291", "privacy_version": "2026-12-03"}

    phone = PhoneField(required=True)
    code = _otp_code()
    privacy_version = _privacy_version()


class WechatLoginSchema(Schema):
    OPENAPI_EXAMPLE = {"code": "0a3Xb1Ga1H7c5K0zJ3Ia1", "privacy_version": "2026-12-03"}

    code = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=128),
        metadata={"description": "the code from wx.login() in the mini-program"},
    )
    privacy_version = _privacy_version()


class PhoneBindSchema(Schema):
    OPENAPI_EXAMPLE = {"phone": "13800138000", "code": "480291"}

    phone = PhoneField(required=True)
    code = _otp_code()


class ReconfirmSchema(Schema):
    OPENAPI_EXAMPLE = {"code": "480291"}

    code = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=128),
        metadata={
            "description": "a fresh code texted to your own phone (POST /api/v1/auth/otp); "
            "an account without a phone: a new code from wx.login()"
        },
    )


class RefreshSchema(Schema):
    refresh_token = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=256))


class TokenPairSchema(Schema):
    access_token = ma.fields.String()
    refresh_token = ma.fields.String()
    token_type = ma.fields.Constant("Bearer")
    expires_in = ma.fields.Integer(metadata={"description": "seconds the access token lives"})
    resident = ma.fields.Nested(ResidentSchema)
