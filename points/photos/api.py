"""POST /api/v1/photos: a resident uploads evidence for an action."""

from flask import current_app
from flask.views import MethodView

from backend.api import Blueprint, ErrorSchema
from backend.auth.guard import current_resident, resident_required
from backend.extensions import limiter
from points.photos import service
from points.photos.schemas import PhotoSchema, PhotoUploadSchema

blp = Blueprint("photos", __name__, url_prefix="/api/v1/photos", description="Evidence photos")


def _resident_key() -> str:
    return f"resident:{current_resident().id}"


# Applied inside resident_required (decorators run outermost last): the resident is known.
# Every upload counts, refused ones too: each costs a decode.
photo_upload_limit = limiter.limit(
    lambda: current_app.config["PHOTO_LIMIT_PER_RESIDENT"],
    key_func=_resident_key,
    scope="photos-resident",
    methods=["POST"],
)


@blp.route("")
class Photos(MethodView):
    decorators = [photo_upload_limit, resident_required]

    @blp.doc(security=[{"resident": []}])
    @blp.arguments(PhotoUploadSchema, location="files")
    @blp.response(201, PhotoSchema)
    @blp.alt_response(
        413, schema=ErrorSchema, description="photo_too_large or photo_too_many_pixels"
    )
    @blp.alt_response(429, schema=ErrorSchema, description="rate_limited: too many uploads")
    @blp.alt_response(
        503,
        schema=ErrorSchema,
        description="busy: too many photos being decoded at once; retry after Retry-After",
    )
    def post(self, files):
        """Upload a photo (multipart field `file`): stored re-encoded, without EXIF or GPS"""
        return service.store_photo(current_resident().id, files["file"])
