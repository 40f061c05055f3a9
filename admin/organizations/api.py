"""/api/v1/staff/organizations: make and list the organisations staff run."""

from flask.views import MethodView

from backend.api import Blueprint
from backend.pagination import PageArgsSchema, page_schema, paginate
from backend.staff.guard import current_staff, staff_required
from campaigns.organizations import service
from campaigns.organizations.models import Organization
from campaigns.organizations.schemas import (
    OrganizationWriteSchema,
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
