"""GET /api/v1/methodology: the factors in force, public, with units and sources."""

from flask.views import MethodView

from backend.api import Blueprint
from points.methodology import service
from points.methodology.schemas import MethodologySchema

blp = Blueprint(
    "methodology", __name__, url_prefix="/api/v1/methodology", description="Emission factors"
)


@blp.route("")
class Methodology(MethodView):
    @blp.response(200, MethodologySchema)
    def get(self):
        """The methodology in force: factors, units, sources, caps and plausibility bounds"""
        return service.current_methodology()
