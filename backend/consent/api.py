"""POST /api/v1/me/consents and DELETE /api/v1/me/consents/<scope>: give and withdraw."""

from flask.views import MethodView

from backend.api import Blueprint, ErrorSchema
from backend.auth.guard import current_resident, resident_required
from backend.consent import service
from backend.consent.schemas import (
    ConsentRequestSchema,
    ConsentStateSchema,
    ConsentWithdrawnSchema,
)

blp = Blueprint("consent", __name__, url_prefix="/api/v1/me/consents", description="Your consents")
RESIDENT = [{"resident": []}]


@blp.route("")
class Consents(MethodView):
    decorators = [resident_required]

    @blp.doc(security=RESIDENT)
    @blp.arguments(ConsentRequestSchema)
    @blp.response(200, ConsentStateSchema)
    @blp.alt_response(
        422,
        schema=ErrorSchema,
        description="validation_error: unknown scope, or a version "
        "that is not the one in force (fields.version)",
    )
    def post(self, body):
        """Accept the privacy notice in force (scope privacy) or location (scope location:
        trip traces and check-in positions), at the version of GET /api/v1/legal/privacy"""
        return service.accept(current_resident(), body["scope"], body["version"])


@blp.route("/<scope>")
class OneConsent(MethodView):
    decorators = [resident_required]

    @blp.doc(security=RESIDENT)
    @blp.response(200, ConsentWithdrawnSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="not_found: the scope is not one")
    def delete(self, scope):
        """Withdraw a consent. Privacy: recording waits until you accept again (or delete
        your account). Location: traces and check-ins are refused from now on"""
        result = service.withdraw(current_resident(), scope)
        return {**_dumpable(result), "notice": service.withdrawal_notice(scope)}


def _dumpable(state: service.ConsentState) -> dict:
    return {
        "privacy": state.privacy,
        "location": state.location,
        "current_privacy_version": state.current_privacy_version,
        "privacy_required": state.privacy_required,
    }
