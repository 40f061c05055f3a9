"""GET/PATCH /api/v1/me: the signed-in resident's own profile."""

from flask.views import MethodView

from backend.api import Blueprint
from backend.auth.guard import current_resident, resident_required
from backend.residents import service
from backend.residents.schemas import ResidentSchema, ResidentUpdateSchema

blp = Blueprint("me", __name__, url_prefix="/api/v1/me", description="The signed-in resident")


@blp.route("")
class Me(MethodView):
    decorators = [resident_required]

    @blp.doc(security=[{"resident": []}])
    @blp.response(200, ResidentSchema)
    def get(self):
        """Your profile"""
        return current_resident()

    @blp.doc(security=[{"resident": []}])
    @blp.arguments(ResidentUpdateSchema)
    @blp.response(200, ResidentSchema)
    def patch(self, changes):
        """Set your nickname, district and community"""
        return service.update_profile(current_resident(), changes)
