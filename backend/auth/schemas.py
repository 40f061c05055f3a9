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


class OtpLoginSchema(Schema):
    phone = PhoneField(required=True)
    code = ma.fields.String(
        required=True,
        validate=ma.validate.Regexp(r"^\d{6}$", error=_l("The code is 6 digits.")),
    )


class WechatLoginSchema(Schema):
    code = ma.fields.String(
        required=True,
        validate=ma.validate.Length(min=1, max=128),
        metadata={"description": "the code from wx.login() in the mini-program"},
    )


class RefreshSchema(Schema):
    refresh_token = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=256))


class TokenPairSchema(Schema):
    access_token = ma.fields.String()
    refresh_token = ma.fields.String()
    token_type = ma.fields.Constant("Bearer")
    expires_in = ma.fields.Integer(metadata={"description": "seconds the access token lives"})
    resident = ma.fields.Nested(ResidentSchema)
