"""GET /api/v1/districts: public reference data for the district picker."""

from flask.views import MethodView

from backend.api import Blueprint
from backend.districts import service
from backend.districts.schemas import DistrictListSchema

blp = Blueprint("districts", __name__, url_prefix="/api/v1/districts", description="Districts")


@blp.route("")
class Districts(MethodView):
    @blp.response(200, DistrictListSchema)
    def get(self):
        """Districts of Zhaoqing, with GB/T 2260 codes"""
        return {"items": service.list_districts()}
