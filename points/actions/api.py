"""POST/GET /api/v1/actions: residents record and read their own actions."""

from flask.views import MethodView

from backend import ratelimit
from backend.api import Blueprint, ErrorSchema
from backend.auth.guard import current_resident, resident_required
from backend.idempotency import idempotent
from backend.pagination import page_schema, paginate
from points.actions import service
from points.actions.models import Action
from points.actions.schemas import (
    ActionCreateSchema,
    ActionListArgsSchema,
    ActionSchema,
    action_body_doc,
)

blp = Blueprint("actions", __name__, url_prefix="/api/v1/actions", description="Low-carbon actions")


action_flood_limit = ratelimit.per_resident("ACTION_LIMIT_PER_RESIDENT", "actions-resident")

IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": True,
    "schema": {"type": "string", "maxLength": 128},
    "description": "same key + same body: the same response; another body: 422",
}


@blp.route("")
class Actions(MethodView):
    decorators = [action_flood_limit, resident_required]
    json_body_limit = "ACTION_BODY_MAX_BYTES"  # a trip's trace (backend.json_bounds)

    @blp.doc(
        security=[{"resident": []}], parameters=[IDEMPOTENCY_KEY], requestBody=action_body_doc()
    )
    @blp.arguments(ActionCreateSchema)
    @idempotent("actions")
    @blp.response(201, ActionSchema)
    @blp.alt_response(
        400,
        schema=ErrorSchema,
        description="idempotency_key_missing or invalid; or the body is not JSON",
    )
    @blp.alt_response(
        409,
        schema=ErrorSchema,
        description="duplicate_action, or the same Idempotency-Key is still being answered",
    )
    @blp.alt_response(429, schema=ErrorSchema, description="rate_limited: too many actions")
    def post(self, body):
        """Record a trip, garbage sorting, a Clean Plate meal or an EV charging session"""
        return service.record_action(current_resident(), body)

    @blp.doc(security=[{"resident": []}])
    @blp.arguments(ActionListArgsSchema, location="query")
    @blp.response(200, page_schema(ActionSchema, "ActionPage"))
    def get(self, args):
        """Your actions, newest first"""
        query = service.own_actions_query(current_resident().id, args.get("status"))
        return paginate(query, Action.id, args["limit"], args["cursor"])


@blp.route("/<int:action_id>")
class OneAction(MethodView):
    decorators = [resident_required]

    @blp.doc(security=[{"resident": []}])
    @blp.response(200, ActionSchema)
    def get(self, action_id):
        """One of your actions (another resident's is 404)"""
        return service.get_own(current_resident().id, action_id)
