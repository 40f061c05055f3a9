"""/api/v1/staff/auth/*, /api/v1/staff/me: staff sign-in for the staff JSON API."""

from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView

from backend.api import Blueprint, ErrorSchema
from backend.staff import service
from backend.staff.guard import current_staff, current_staff_session, staff_required
from backend.staff.schemas import StaffLoginSchema, StaffProfileSchema, StaffTokenSchema

blp = Blueprint("staff_auth", __name__, url_prefix="/api/v1/staff", description="Staff: sign-in")
STAFF = [{"staff": []}]


@blp.route("/auth/login")
class Login(MethodView):
    # Its limits are the sign-in throttle's (backend/staff/throttle.py): per username,
    # per address and per both, counted in the database, with the exact Retry-After.
    @blp.arguments(StaffLoginSchema)
    @blp.response(200, StaffTokenSchema)
    @blp.alt_response(
        401,
        schema=ErrorSchema,
        description="invalid_credentials: the username is unknown, the password is wrong, "
        "or the account is suspended (one answer for all three); totp_required: the "
        "password is right and this user signs in with a TOTP code (send `totp_code`); "
        "totp_invalid: the code is wrong or was used already; totp_enrolment_required: "
        "a superadmin without a second factor enrols in the console first",
    )
    @blp.alt_response(
        429,
        schema=ErrorSchema,
        description="sign_in_throttled: too many failed sign-ins for this username (from "
        "this address, or from everywhere) or from this address; nothing was checked. "
        "Retry-After says when to try again",
    )
    def post(self, body):
        """Sign in with a username, a password and (superadmins) a TOTP code

        Failed tries never lock an account: after a few, each further failure makes the
        next try of that username wait longer (doubling, capped), from the failing address
        much more than from others.
        """
        token, session = service.sign_in(
            body["username"], body["password"], request.remote_addr, body.get("totp_code")
        )
        return {
            "access_token": token,
            "expires_in": current_app.config["STAFF_TOKEN_TTL_SECONDS"],
            "staff": session.staff_user,
        }


@blp.route("/auth/logout")
class Logout(MethodView):
    decorators = [staff_required()]

    @blp.doc(security=STAFF)
    @blp.response(204)
    def post(self):
        """End this session: its token stops working"""
        service.sign_out(current_staff_session())


@blp.route("/me")
class Me(MethodView):
    decorators = [staff_required()]

    @blp.doc(security=STAFF)
    @blp.response(200, StaffProfileSchema)
    def get(self):
        """The signed-in staff user, with the permissions of their role"""
        return current_staff()
