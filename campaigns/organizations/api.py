"""Residents' organisation endpoints: make a household, join with a code, see and leave
their organisations."""

from flask.views import MethodView

from backend.api import Blueprint, ErrorSchema
from backend.auth.guard import current_resident, resident_required
from backend.ratelimit import per_resident
from campaigns.organizations import service
from campaigns.organizations.schemas import (
    CreatedOrganizationSchema,
    HouseholdCreateSchema,
    JoinSchema,
    MyOrganizationListSchema,
    MyOrganizationSchema,
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
        409, schema=ErrorSchema, description="already_member_of_kind or organization_full"
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
