"""District as clients see it."""

import marshmallow as ma

from backend.api import Schema


class DistrictSchema(Schema):
    code = ma.fields.String()
    name = ma.fields.String()
    name_en = ma.fields.String()
    central_city = ma.fields.Boolean()


class DistrictListSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(DistrictSchema))
