"""Staff sign-in requests, the token response, and the signed-in staff user's profile."""

import marshmallow as ma

from backend.api import Schema
from backend.staff.models import ROLES
from backend.staff.permissions import permissions_of


class StaffLoginSchema(Schema):
    username = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=64))
    password = ma.fields.String(
        required=True, load_only=True, validate=ma.validate.Length(min=1, max=256)
    )
    totp_code = ma.fields.String(
        load_only=True,
        validate=ma.validate.Length(min=1, max=16),
        metadata={
            "description": "the 6-digit code of the user's authenticator app: required for "
            "superadmins and for staff who enrolled a second factor in the console"
        },
    )


class StaffSchema(Schema):
    id = ma.fields.Integer(dump_only=True)
    username = ma.fields.String(dump_only=True)
    role = ma.fields.String(dump_only=True, metadata={"enum": list(ROLES)})


class StaffProfileSchema(StaffSchema):
    permissions = ma.fields.Function(
        lambda user: permissions_of(user.role),
        dump_only=True,
        metadata={
            "description": "what this user's role may do in the staff API",
            "type": "array",
            "items": {"type": "string"},
        },
    )


class StaffTokenSchema(Schema):
    access_token = ma.fields.String(dump_only=True)
    token_type = ma.fields.Constant("Bearer", dump_only=True)
    expires_in = ma.fields.Integer(
        dump_only=True, metadata={"description": "seconds the access token lives"}
    )
    staff = ma.fields.Nested(StaffSchema, dump_only=True)
