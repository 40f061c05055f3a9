"""/api/v1/staff/organizations: make, list, read and close the organisations staff run;
make a member an admin."""

from flask.views import MethodView

from backend.api import Blueprint, ErrorSchema
from backend.pagination import PageArgsSchema, page_schema, paginate
from backend.staff.guard import current_staff, staff_required
from campaigns.organizations import members, service
from campaigns.organizations.models import Organization
from campaigns.organizations.schemas import (
    OrganizationWriteSchema,
    RoleSchema,
    StaffMembershipSchema,
    StaffOrganizationDetailSchema,
    StaffOrganizationListArgs,
    StaffOrganizationSchema,
)

blp = Blueprint(
    "staff_organizations",
    __name__,
    url_prefix="/api/v1/staff",
    description="Staff: organisations",
)
STAFF = [{"staff": []}]
MANAGE = staff_required("manage_organizations")


class OrganizationListArgs(PageArgsSchema, StaffOrganizationListArgs):
    pass


@blp.route("/organizations")
class StaffOrganizations(MethodView):
    decorators = [MANAGE]

    @blp.doc(security=STAFF)
    @blp.arguments(OrganizationListArgs, location="query")
    @blp.response(200, page_schema(StaffOrganizationSchema, "StaffOrganizationPage"))
    def get(self, args):
        """Every organisation, newest first"""
        return paginate(
            service.organizations_query(args.get("kind")),
            Organization.id,
            args["limit"],
            args["cursor"],
        )

    @blp.doc(security=STAFF)
    @blp.arguments(OrganizationWriteSchema)
    @blp.response(201, StaffOrganizationSchema)
    def post(self, body):
        """Make a school, community, employer or agency, with its invite code"""
        return service.create_organization(**body, staff_id=current_staff().id)


@blp.route("/organizations/<int:organization_id>")
class StaffOrganization(MethodView):
    decorators = [MANAGE]

    @blp.doc(security=STAFF)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, StaffOrganizationDetailSchema)
    def get(self, args, organization_id):
        """One organisation with a page of its current members (longest-standing first)"""
        return members.organization_detail(organization_id, args["limit"], args["cursor"])


@blp.route("/organizations/<int:organization_id>/members/<int:resident_id>/role")
class StaffMemberRole(MethodView):
    decorators = [MANAGE]

    @blp.doc(security=STAFF)
    @blp.arguments(RoleSchema)
    @blp.response(200, StaffMembershipSchema)
    @blp.alt_response(
        422, schema=ErrorSchema, description="organization_kind_not_allowed: households"
    )
    def post(self, body, organization_id, resident_id):
        """Make a member of a school, community, employer or agency its admin, or a member again"""
        return service.set_member_role(
            organization_id, resident_id, body["role"], staff_id=current_staff().id
        )


@blp.route("/organizations/<int:organization_id>/close")
class StaffOrganizationClose(MethodView):
    decorators = [MANAGE]

    @blp.doc(security=STAFF)
    @blp.response(200, StaffOrganizationSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="organization_closed")
    def post(self, organization_id):
        """Close an organisation: every membership ends, its code stops working; its history
        and figures stay"""
        return service.close_organization(organization_id, staff_id=current_staff().id)
