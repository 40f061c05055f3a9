"""Residents' organisation endpoints: make a household, join with a code, see and leave
their organisations; an organisation's admins list and remove members and renew its code."""

from flask import Response
from flask.views import MethodView

from backend.api import Blueprint, ErrorSchema
from backend.auth.guard import current_resident, resident_required
from backend.pagination import PageArgsSchema, page_schema
from backend.ratelimit import per_resident
from campaigns.organizations import members, service
from campaigns.organizations.schemas import (
    CreatedOrganizationSchema,
    HouseholdCreateSchema,
    InviteCodeSchema,
    JoinSchema,
    MemberSchema,
    MyOrganizationListSchema,
    MyOrganizationSchema,
    OrganizationViewArgs,
    OrganizationViewSchema,
)

blp = Blueprint("organizations", __name__, url_prefix="/api/v1", description="Organisations")
RESIDENT = [{"resident": []}]
JOIN_LIMIT = per_resident("ORGANIZATION_JOIN_LIMIT_PER_RESIDENT", "organization_join")


@blp.route("/organizations")
class Organizations(MethodView):
    decorators = [resident_required]

    @blp.doc(security=RESIDENT)
    @blp.arguments(HouseholdCreateSchema)
    @blp.response(201, CreatedOrganizationSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="already_member_of_kind")
    def post(self, body):
        """Make your household: you are its admin; share its invite code with your family"""
        return service.create_household(current_resident(), body["name"])


@blp.route("/organizations/join")
class Join(MethodView):
    decorators = [JOIN_LIMIT, resident_required]

    @blp.doc(security=RESIDENT)
    @blp.arguments(JoinSchema)
    @blp.response(201, MyOrganizationSchema)
    @blp.alt_response(
        409,
        schema=ErrorSchema,
        description="already_member, already_member_of_kind or organization_full",
    )
    @blp.alt_response(429, schema=ErrorSchema, description="rate_limited: too many tries")
    def post(self, body):
        """Join an organisation with its invite code (one of each kind at a time)"""
        return service.join(current_resident(), body["invite_code"])


@blp.route("/me/organizations")
class MyOrganizations(MethodView):
    decorators = [resident_required]

    @blp.doc(security=RESIDENT)
    @blp.response(200, MyOrganizationListSchema)
    def get(self):
        """The organisations you belong to"""
        return {"items": service.open_memberships(current_resident().id)}


@blp.route("/me/organizations/<int:organization_id>")
class MyOrganization(MethodView):
    decorators = [resident_required]

    @blp.doc(security=RESIDENT)
    @blp.response(204)
    def delete(self, organization_id):
        """Leave an organisation (what you did as a member stays in its figures)"""
        service.leave(current_resident(), organization_id)


ADMIN_ONLY = "organization_admin_required: members who are not its admin"
NOT_MEMBER = "organization_not_found: not a member (or no such organisation)"


@blp.route("/organizations/<int:organization_id>")
class OrganizationPage(MethodView):
    decorators = [resident_required]

    @blp.doc(security=RESIDENT)
    @blp.arguments(OrganizationViewArgs, location="query")
    @blp.response(200, OrganizationViewSchema)
    @blp.alt_response(404, schema=ErrorSchema, description=NOT_MEMBER)
    def get(self, args, organization_id):
        """Your organisation: its figures for the period and its member board (by nickname)"""
        return members.organization_view(
            current_resident(),
            organization_id,
            args["period"],
            limit=args["limit"],
            cursor=args["cursor"],
        )


@blp.route("/organizations/<int:organization_id>/members")
class Members(MethodView):
    decorators = [resident_required]

    @blp.doc(security=RESIDENT)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, page_schema(MemberSchema, "OrganizationMemberPage"))
    @blp.alt_response(403, schema=ErrorSchema, description=ADMIN_ONLY)
    @blp.alt_response(404, schema=ErrorSchema, description=NOT_MEMBER)
    def get(self, args, organization_id):
        """Admins: the current members, longest-standing first, with their all-time figures"""
        return members.members_for_admin(
            current_resident(), organization_id, args["limit"], args["cursor"]
        )


@blp.route("/organizations/<int:organization_id>/members/<int:member_id>")
class Member(MethodView):
    decorators = [resident_required]

    @blp.doc(security=RESIDENT)
    @blp.response(204)
    @blp.alt_response(403, schema=ErrorSchema, description=ADMIN_ONLY)
    @blp.alt_response(
        409, schema=ErrorSchema, description="cannot_remove_self (leave instead) or member_is_admin"
    )
    def delete(self, organization_id, member_id):
        """Admins: remove a member (`member_id` is the membership's id from the member list)"""
        members.remove_by_admin(current_resident(), organization_id, member_id)


@blp.route("/organizations/<int:organization_id>/invite-code")
class InviteCodeRotation(MethodView):
    decorators = [resident_required]

    @blp.doc(security=RESIDENT)
    @blp.response(200, InviteCodeSchema)
    @blp.alt_response(403, schema=ErrorSchema, description=ADMIN_ONLY)
    def post(self, organization_id):
        """Admins: a new invite code; the old one and its QR stop working at once"""
        return members.rotate_by_admin(current_resident(), organization_id)


@blp.route("/organizations/<int:organization_id>/invite.png")
class InviteQr(MethodView):
    decorators = [resident_required]

    @blp.doc(security=RESIDENT)
    @blp.response(200, content_type="image/png")
    @blp.alt_response(403, schema=ErrorSchema, description=ADMIN_ONLY)
    def get(self, organization_id):
        """Admins: a QR of the join address with the current code, to show or print"""
        png = members.invite_png(current_resident(), organization_id)
        return Response(png, mimetype="image/png", headers={"Cache-Control": "no-store"})
