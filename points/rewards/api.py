"""Residents: the reward catalogue, redeeming with an Idempotency-Key, their redemptions."""

from flask import Response
from flask.views import MethodView

from backend.api import Blueprint, ErrorSchema
from backend.auth.guard import current_resident, resident_required
from backend.idempotency import idempotent
from backend.pagination import PageArgsSchema, page_schema, paginate
from points.actions.api import IDEMPOTENCY_KEY
from points.rewards import service
from points.rewards.models import Redemption
from points.rewards.schemas import CatalogueSchema, RedemptionSchema

blp = Blueprint("rewards", __name__, url_prefix="/api/v1", description="Rewards")
RESIDENT = [{"resident": []}]


@blp.route("/rewards")
class Rewards(MethodView):
    decorators = [resident_required]

    @blp.doc(security=RESIDENT)
    @blp.response(200, CatalogueSchema)
    def get(self):
        """Rewards on offer, cheapest first; `affordable` says what you can redeem now"""
        return {"items": service.catalogue(current_resident())}


@blp.route("/rewards/<int:reward_id>/redeem")
class Redeem(MethodView):
    decorators = [resident_required]

    @blp.doc(security=RESIDENT, parameters=[IDEMPOTENCY_KEY])
    @idempotent("redeem")
    @blp.response(201, RedemptionSchema)
    @blp.alt_response(400, schema=ErrorSchema, description="idempotency_key_missing or invalid")
    @blp.alt_response(
        409,
        schema=ErrorSchema,
        description="out_of_stock, or the same Idempotency-Key is still being answered",
    )
    @blp.alt_response(
        422,
        schema=ErrorSchema,
        description="insufficient_points, limit_reached, or the key was used for another request",
    )
    def post(self, reward_id):
        """Redeem: points and one unit of stock are taken together, or neither"""
        return service.redeem(current_resident(), reward_id)


@blp.route("/me/redemptions")
class MyRedemptions(MethodView):
    decorators = [resident_required]

    @blp.doc(security=RESIDENT)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, page_schema(RedemptionSchema, "RedemptionPage"))
    def get(self, args):
        """Your redemptions, newest first"""
        query = service.own_redemptions_query(current_resident().id)
        return paginate(query, Redemption.id, args["limit"], args["cursor"])


@blp.route("/me/redemptions/<int:redemption_id>/qr.png")
class RedemptionQr(MethodView):
    decorators = [resident_required]

    @blp.doc(security=RESIDENT)
    @blp.response(200, content_type="image/png")
    def get(self, redemption_id):
        """The QR code a merchant scans"""
        redemption = service.own_redemption(current_resident().id, redemption_id)
        return Response(service.qr_png(redemption), mimetype="image/png")


@blp.route("/me/redemptions/<int:redemption_id>/cancel")
class CancelRedemption(MethodView):
    decorators = [resident_required]

    @blp.doc(security=RESIDENT)
    @blp.response(200, RedemptionSchema)
    @blp.alt_response(
        409, schema=ErrorSchema, description="not_cancellable: the redemption was used or cancelled"
    )
    def post(self, redemption_id):
        """Cancel before use: your points and the unit of stock come back"""
        return service.cancel(current_resident().id, redemption_id)
