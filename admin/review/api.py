"""/api/v1/staff/reviews: list the evidence queue, approve, reject with a reason."""

from flask import Response
from flask.views import MethodView

from admin.review import service
from admin.review.schemas import RejectSchema, ReviewItemSchema, ReviewQueueArgsSchema
from backend.api import Blueprint, ErrorSchema
from backend.pagination import page_schema, paginate
from backend.staff.guard import current_staff, staff_required
from points.actions import service as actions
from points.actions.models import Action
from points.photos import service as photos

blp = Blueprint(
    "staff_reviews", __name__, url_prefix="/api/v1/staff", description="Staff: evidence review"
)
STAFF = [{"staff": []}]


@blp.route("/reviews")
class ReviewQueue(MethodView):
    decorators = [staff_required("review_actions")]

    @blp.doc(security=STAFF)
    @blp.arguments(ReviewQueueArgsSchema, location="query")
    @blp.response(200, page_schema(ReviewItemSchema, "ReviewPage"))
    def get(self, args):
        """Actions waiting for review, oldest first"""
        query = actions.review_queue_query(args["status"], args.get("type"))
        return paginate(query, Action.id, args["limit"], args["cursor"], oldest_first=True)


@blp.route("/reviews/<int:action_id>/approve")
class Approve(MethodView):
    decorators = [staff_required("review_actions")]

    @blp.doc(security=STAFF)
    @blp.response(200, ReviewItemSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="already_reviewed")
    def post(self, action_id):
        """Approve: the action pays now, within its day's cap"""
        return service.approve(action_id, current_staff().id)


@blp.route("/reviews/<int:action_id>/reject")
class Reject(MethodView):
    decorators = [staff_required("review_actions")]

    @blp.doc(security=STAFF)
    @blp.arguments(RejectSchema)
    @blp.response(200, ReviewItemSchema)
    @blp.alt_response(409, schema=ErrorSchema, description="already_reviewed")
    def post(self, body, action_id):
        """Reject with a reason: the action pays nothing"""
        return service.reject(action_id, current_staff().id, body["reason"])


@blp.route("/photos/<photo_id>/thumbnail")
class PhotoThumbnail(MethodView):
    decorators = [staff_required("review_actions")]

    @blp.doc(security=STAFF)
    @blp.response(200, content_type="image/jpeg")
    def get(self, photo_id):
        """A photo's thumbnail, for reviewers"""
        return Response(photos.open_thumbnail(photos.get_photo(photo_id)), mimetype="image/jpeg")
