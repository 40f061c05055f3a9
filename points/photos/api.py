"""POST /api/v1/photos: a resident uploads evidence for an action; GET one back (own only)."""

from flask import Response
from flask.views import MethodView

from backend import ratelimit
from backend.api import Blueprint, ErrorSchema
from backend.auth.guard import current_resident, resident_required
from points.photos import service
from points.photos.schemas import PhotoSchema, PhotoUploadSchema

blp = Blueprint("photos", __name__, url_prefix="/api/v1/photos", description="Evidence photos")


# Every upload counts, refused ones too: each costs a decode.
photo_upload_limit = ratelimit.per_resident("PHOTO_LIMIT_PER_RESIDENT", "photos-resident")


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


@blp.route("/<photo_id>")
class OnePhoto(MethodView):
    decorators = [resident_required]

    @blp.doc(security=[{"resident": []}])
    @blp.response(200, content_type="image/jpeg", description="the stored JPEG, without EXIF")
    @blp.alt_response(
        404, schema=ErrorSchema, description="photo_not_found (not yours) or photo_erased"
    )
    def get(self, photo_id):
        """One of your photos, as stored: re-encoded JPEG"""
        image = service.own_photo_image(current_resident().id, photo_id)
        return Response(
            image, mimetype="image/jpeg", headers={"Cache-Control": "private, no-store"}
        )
