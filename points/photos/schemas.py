"""Evidence photos at the HTTP edge: the multipart upload and what is returned."""

import marshmallow as ma
from flask_smorest.fields import Upload

from backend.api import Schema


class PhotoUploadSchema(Schema):
    file = Upload(
        required=True,
        metadata={
            "description": "a JPEG, PNG or WebP photo (judged by content, not by name); "
            "at most PHOTO_MAX_BYTES bytes and PHOTO_MAX_PIXELS pixels"
        },
    )


class PhotoSchema(Schema):
    photo_id = ma.fields.String(
        attribute="id",
        dump_only=True,
        metadata={"description": "send it with a Clean Plate action"},
    )
    width = ma.fields.Integer(dump_only=True, metadata={"description": "of the stored image"})
    height = ma.fields.Integer(dump_only=True, metadata={"description": "of the stored image"})
