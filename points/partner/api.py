"""POST /api/v1/partner/events (signed batches); residents link their partner accounts with
a code the partner confirms (POST /api/v1/partner/links, signed)."""

from dataclasses import asdict

from flask.views import MethodView

from backend.api import Blueprint, ErrorSchema
from backend.auth.guard import current_resident, resident_required
from points.partner import links, service
from points.partner.guard import current_partner, partner_signed
from points.partner.schemas import (
    BatchResultSchema,
    ConfirmedLinkSchema,
    LinkCodeSchema,
    LinkConfirmSchema,
    LinkCreateSchema,
    LinkListSchema,
    PartnerBatchSchema,
    PartnerListSchema,
    partner_batch_doc,
)

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
    json_body_limit = "PARTNER_BODY_MAX_BYTES"  # 500 events (backend.json_bounds)

    @blp.doc(parameters=SIGNATURE_HEADERS, requestBody=partner_batch_doc())
    @blp.arguments(PartnerBatchSchema)
    @blp.response(200, BatchResultSchema)
    @blp.alt_response(
        401, schema=ErrorSchema, description="partner_unknown, timestamp_stale or signature_invalid"
    )
    def post(self, batch):
        """Push up to 500 verified events; each gets accepted, duplicate or rejected"""
        results = service.ingest_batch(current_partner(), batch["events"])
        return {
            "accepted": sum(r.status == "accepted" for r in results),
            "duplicates": sum(r.status == "duplicate" for r in results),
            "rejected": sum(r.status == "rejected" for r in results),
            "results": [asdict(r) for r in results],
        }


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
    @blp.response(201, LinkCodeSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="no such partner")
    @blp.alt_response(
        409, schema=ErrorSchema, description="partner_link_exists: unlink your account first"
    )
    @blp.alt_response(
        422,
        schema=ErrorSchema,
        description="partner_link_code_required: an external_id is no longer accepted",
    )
    def post(self, body):
        """Ask for a link code: enter it in the partner's app, and the partner confirms the
        link (an earlier open code for this partner stops working)"""
        return links.request_link_code(
            current_resident().id, body["partner_key"], body.get("external_id")
        )


@blp.route("/partner/links")
class PartnerLinkConfirmations(MethodView):
    decorators = [partner_signed]

    @blp.doc(parameters=SIGNATURE_HEADERS)
    @blp.arguments(LinkConfirmSchema)
    @blp.response(201, ConfirmedLinkSchema)
    @blp.alt_response(
        401, schema=ErrorSchema, description="partner_unknown, timestamp_stale or signature_invalid"
    )
    @blp.alt_response(404, schema=ErrorSchema, description="link_code_unknown")
    @blp.alt_response(409, schema=ErrorSchema, description="partner_link_exists")
    @blp.alt_response(422, schema=ErrorSchema, description="link_code_expired or link_code_used")
    def post(self, body):
        """Confirm the link code a resident entered in your app, for the account signed in
        there; its events then name the resident by `external_id` (confirming again is safe)"""
        return links.confirm_link(current_partner(), body["link_code"], body["external_id"])


@blp.route("/me/partner-links/<int:link_id>")
class PartnerLink(MethodView):
    decorators = [resident_required]

    @blp.doc(security=[{"resident": []}])
    @blp.response(204)
    def delete(self, link_id):
        """Unlink a partner account, or drop a pending link code"""
        service.unlink(current_resident().id, link_id)
