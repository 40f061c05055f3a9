"""A guardian's children under 14 (PIPL art. 31): add, list, record for, read, erase.

The child's actions take the bodies, Idempotency-Key rules, limits and caps of
POST /api/v1/actions; a key is the guardian's for that child alone."""

import marshmallow as ma
from flask.views import MethodView

from backend.api import Blueprint, ErrorSchema, Schema
from backend.auth import service as auth
from backend.auth.api import login_per_ip
from backend.auth.guard import current_resident, resident_required
from backend.auth.schemas import ReconfirmSchema
from backend.clock import local_moment
from backend.idempotency import idempotent
from backend.pagination import page_schema, paginate
from backend.residents.schemas import TrimmedString, _printable
from campaigns.organizations import children
from points.actions.api import IDEMPOTENCY_KEY, action_flood_limit
from points.actions.models import Action
from points.actions.schemas import (
    ActionCreateSchema,
    ActionListArgsSchema,
    ActionSchema,
    action_body_doc,
)
from points.actions.service import own_actions_query
from points.ledger.service import account_summary

blp = Blueprint(
    "children", __name__, url_prefix="/api/v1/me/children", description="Children under 14"
)
RESIDENT = [{"resident": []}]


class ChildCreateSchema(Schema):
    OPENAPI_EXAMPLE = {"nickname": "小明"}

    nickname = TrimmedString(
        required=True,
        validate=[ma.validate.Length(min=1, max=32), _printable],
        metadata={
            "description": "1 to 32 characters; nothing else is asked about a child (adding "
            "one is your word, as their guardian, that they are under 14)"
        },
    )


class ChildSchema(Schema):
    id = ma.fields.Integer()
    nickname = ma.fields.String(allow_none=True)
    created_at = ma.fields.Function(lambda child: local_moment(child.created_at).isoformat())
    household_id = ma.fields.Function(
        lambda child: children.household_id(child),
        metadata={"description": "the household the child belongs to (yours)"},
    )


class ChildWithTotalsSchema(ChildSchema):
    balance = ma.fields.Function(lambda child: account_summary(child.id).balance)
    co2e_g_total = ma.fields.Function(lambda child: account_summary(child.id).co2e_g_total)


class ChildListSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(ChildWithTotalsSchema))


def _child_principal(kwargs: dict) -> str:
    # A guardian's keys for one child are apart from their own and from another child's.
    return f"resident:{current_resident().id}:child:{kwargs['child_id']}"


@blp.route("")
class Children(MethodView):
    decorators = [resident_required]

    @blp.doc(security=RESIDENT)
    @blp.arguments(ChildCreateSchema)
    @blp.response(201, ChildSchema)
    @blp.alt_response(
        409,
        schema=ErrorSchema,
        description="household_required, too_many_children or organization_full",
    )
    def post(self, body):
        """Add your child under 14 to your household, by nickname alone

        The child has no account: you record their actions, your consents cover them, and
        they never appear on a public board."""
        return children.add_child(current_resident(), body["nickname"])

    @blp.doc(security=RESIDENT)
    @blp.response(200, ChildListSchema)
    def get(self):
        """Your children, with their balance and lifetime CO2e"""
        return {"items": children.children_of(current_resident().id)}


@blp.route("/<int:child_id>")
class Child(MethodView):
    decorators = [login_per_ip, resident_required]

    @blp.doc(security=RESIDENT)
    @blp.arguments(ReconfirmSchema)
    @blp.response(204)
    @blp.alt_response(401, schema=ErrorSchema, description="the code is wrong: nothing is erased")
    @blp.alt_response(404, schema=ErrorSchema, description="child_not_found")
    def delete(self, body, child_id):
        """Erase your child's data (irreversible): re-confirm with a fresh `code`, as for
        deleting your account"""
        guardian = current_resident()
        child = children.child_of(guardian, child_id)
        auth.confirm_identity(guardian, body["code"])
        children.erase_child(child)


@blp.route("/<int:child_id>/actions")
class ChildActions(MethodView):
    decorators = [action_flood_limit, resident_required]
    json_body_limit = "ACTION_BODY_MAX_BYTES"

    @blp.doc(security=RESIDENT, parameters=[IDEMPOTENCY_KEY], requestBody=action_body_doc())
    @blp.arguments(ActionCreateSchema)
    @idempotent("child_actions", _child_principal)
    @blp.response(201, ActionSchema)
    @blp.alt_response(400, schema=ErrorSchema, description="idempotency_key_missing or invalid")
    @blp.alt_response(404, schema=ErrorSchema, description="child_not_found")
    @blp.alt_response(
        409,
        schema=ErrorSchema,
        description="duplicate_action, household_required, or the same key in flight",
    )
    @blp.alt_response(429, schema=ErrorSchema, description="rate_limited: too many actions")
    def post(self, body, child_id):
        """Record your child's action: the bodies and rules of POST /api/v1/actions; a trip's
        trace needs your location consent"""
        return children.record_for(current_resident(), child_id, body)

    @blp.doc(security=RESIDENT)
    @blp.arguments(ActionListArgsSchema, location="query")
    @blp.response(200, page_schema(ActionSchema, "ChildActionPage"))
    def get(self, args, child_id):
        """Your child's actions, newest first"""
        child = children.child_of(current_resident(), child_id)
        query = own_actions_query(child.id, args.get("status"))
        return paginate(query, Action.id, args["limit"], args["cursor"])
