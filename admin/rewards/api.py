"""/api/v1/staff/rewards and /api/v1/staff/redemptions: catalogue, stock, verification."""

from flask.views import MethodView

from backend.api import Blueprint, ErrorSchema
from backend.pagination import PageArgsSchema, page_schema, paginate
from backend.staff.guard import current_staff, staff_required
from points.rewards import service
from points.rewards.models import Redemption, Reward
from points.rewards.schemas import (
    RedemptionSchema,
    RewardEditSchema,
    RewardWriteSchema,
    StaffRewardSchema,
    StockChangeSchema,
    VerifySchema,
)

blp = Blueprint("staff_rewards", __name__, url_prefix="/api/v1/staff", description="Staff: rewards")
STAFF = [{"staff": []}]
MANAGE = staff_required("manage_rewards")
VERIFY = staff_required("verify_redemptions")  # campaign admins and merchants


@blp.route("/rewards")
class StaffRewards(MethodView):
    decorators = [MANAGE]

    @blp.doc(security=STAFF)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, page_schema(StaffRewardSchema, "StaffRewardPage"))
    def get(self, args):
        """The whole catalogue with stock, newest first"""
        return paginate(service.staff_rewards_query(), Reward.id, args["limit"], args["cursor"])

    @blp.doc(security=STAFF)
    @blp.arguments(RewardWriteSchema)
    @blp.response(201, StaffRewardSchema)
    def post(self, body):
        """Put a reward on offer"""
        return service.create_reward(body)


@blp.route("/rewards/<int:reward_id>")
class StaffReward(MethodView):
    decorators = [MANAGE]

    @blp.doc(security=STAFF)
    @blp.response(200, StaffRewardSchema)
    def get(self, reward_id):
        """One reward"""
        return service.get_reward(reward_id)

    @blp.doc(security=STAFF)
    @blp.arguments(RewardEditSchema(partial=True))
    @blp.response(200, StaffRewardSchema)
    def patch(self, changes, reward_id):
        """Edit a reward (stock changes go through /stock)"""
        return service.edit_reward(reward_id, changes)


@blp.route("/rewards/<int:reward_id>/stock")
class Stock(MethodView):
    decorators = [MANAGE]

    @blp.doc(security=STAFF)
    @blp.arguments(StockChangeSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="stock_below_redeemed")
    @blp.response(200, StaffRewardSchema)
    def post(self, body, reward_id):
        """Add stock, or withdraw units nobody has redeemed"""
        return service.change_stock(reward_id, body["delta"])


@blp.route("/rewards/<int:reward_id>/redemptions")
class RewardRedemptions(MethodView):
    decorators = [MANAGE]

    @blp.doc(security=STAFF)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, page_schema(RedemptionSchema, "StaffRedemptionPage"))
    def get(self, args, reward_id):
        """A reward's redemptions, newest first"""
        query = service.redemptions_of_reward_query(reward_id)
        return paginate(query, Redemption.id, args["limit"], args["cursor"])


@blp.route("/redemptions/verify")
class Verify(MethodView):
    decorators = [VERIFY]

    @blp.doc(security=STAFF)
    @blp.arguments(VerifySchema)
    @blp.alt_response(404, schema=ErrorSchema, description="no redemption has this code")
    @blp.alt_response(
        409,
        schema=ErrorSchema,
        description="redemption_used, redemption_cancelled, or redemption_void (its account "
        "was deleted)",
    )
    @blp.response(200, RedemptionSchema)
    def post(self, body):
        """Verify a scanned code and mark it used (once)"""
        return service.verify(body["code"], current_staff().id)
