"""POST /api/v1/partner/events (signed batches); residents link their partner accounts."""

import logging
from dataclasses import asdict

from flask import after_this_request, current_app
from flask.views import MethodView

from backend.api import Blueprint, ErrorSchema
from backend.auth.guard import current_resident, resident_required
from points.actions import deferred
from points.partner import service
from points.partner.guard import current_partner, partner_signed
from points.partner.schemas import (
    BatchResultSchema,
    LinkCreateSchema,
    LinkListSchema,
    LinkSchema,
    PartnerBatchSchema,
    PartnerListSchema,
)

log = logging.getLogger(__name__)

blp = Blueprint("partner", __name__, url_prefix="/api/v1", description="Partner feeds")

SIGNATURE_HEADERS = [
    {"in": "header", "name": name, "required": True, "schema": {"type": "string"}, "description": d}
    for name, d in (
        ("X-Partner-Key", "your partner key"),
        ("X-Timestamp", "unix seconds; refused when more than 300 s off"),
        ("X-Signature", 'hex HMAC-SHA256 of timestamp + "." + raw body, keyed by your secret'),
    )
]


@blp.route("/partner/events")
class PartnerEvents(MethodView):
    decorators = [partner_signed]

    @blp.doc(parameters=SIGNATURE_HEADERS)
    @blp.arguments(PartnerBatchSchema)
    @blp.response(200, BatchResultSchema)
    @blp.alt_response(
        401, schema=ErrorSchema, description="partner_unknown, timestamp_stale or signature_invalid"
    )
    def post(self, batch):
        """Push up to 500 verified events; each gets accepted, duplicate or rejected"""
        _apply_deferred_after_response()  # also after a fault: earlier groups are kept
        results = service.ingest_batch(current_partner(), batch["events"])
        return {
            "accepted": sum(r.status == "accepted" for r in results),
            "duplicates": sum(r.status == "duplicate" for r in results),
            "rejected": sum(r.status == "rejected" for r in results),
            "results": [asdict(r) for r in results],
        }


# Twice a full batch: a batch applies its own events and as many left over by earlier ones
# (a killed worker's), yet a backlog (say, after an outage) never holds a sync worker past
# its timeout (~4 s for 500 on PostgreSQL); `flask points apply-deferred` clears a backlog.
AFTER_RESPONSE_LIMIT = 1000


def _apply_deferred_after_response() -> None:
    """The batch's derived figures are applied once the partner has its answer."""
    app = current_app._get_current_object()

    def apply() -> None:
        with app.app_context():
            try:
                deferred.apply_deferred(limit=AFTER_RESPONSE_LIMIT)
            except Exception:
                # The rows stay: the next batch, or `flask points apply-deferred`, applies them.
                log.exception("deferred approvals not applied")

    @after_this_request
    def _on_close(response):
        response.call_on_close(apply)
        return response


@blp.route("/partners")
class Partners(MethodView):
    @blp.response(200, PartnerListSchema)
    def get(self):
        """Partners whose accounts residents can link"""
        return {"items": service.active_partners()}


@blp.route("/me/partner-links")
class PartnerLinks(MethodView):
    decorators = [resident_required]

    @blp.doc(security=[{"resident": []}])
    @blp.response(200, LinkListSchema)
    def get(self):
        """Your linked partner accounts"""
        return {"items": service.links_of(current_resident().id)}

    @blp.doc(security=[{"resident": []}])
    @blp.arguments(LinkCreateSchema)
    @blp.response(201, LinkSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="no such partner")
    @blp.alt_response(409, schema=ErrorSchema, description="this account is already linked")
    def post(self, body):
        """Link your account at a partner, so its events credit you"""
        return service.link_resident(
            current_resident().id, body["partner_key"], body["external_id"]
        )


@blp.route("/me/partner-links/<int:link_id>")
class PartnerLink(MethodView):
    decorators = [resident_required]

    @blp.doc(security=[{"resident": []}])
    @blp.response(204)
    def delete(self, link_id):
        """Unlink a partner account"""
        service.unlink(current_resident().id, link_id)
