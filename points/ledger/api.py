"""GET /api/v1/me/account and /api/v1/me/ledger: a resident's own points."""

from flask.views import MethodView

from backend.api import Blueprint
from backend.auth.guard import current_resident, resident_required
from backend.pagination import PageArgsSchema, page_schema, paginate
from points.ledger import descriptions, service
from points.ledger.models import LedgerEntry
from points.ledger.schemas import AccountSchema, LedgerEntrySchema

blp = Blueprint("ledger", __name__, url_prefix="/api/v1/me", description="Your points")


@blp.route("/account")
class Account(MethodView):
    decorators = [resident_required]

    @blp.doc(security=[{"resident": []}])
    @blp.response(200, AccountSchema)
    def get(self):
        """Your balance, CO2e avoided and today's points"""
        return service.account_summary(current_resident().id)


@blp.route("/ledger")
class Ledger(MethodView):
    decorators = [resident_required]

    @blp.doc(security=[{"resident": []}])
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, page_schema(LedgerEntrySchema, "LedgerPage"))
    def get(self, args):
        """Your ledger, newest first: every change of your balance and its cause"""
        query = service.ledger_query(current_resident().id)
        page = paginate(query, LedgerEntry.id, args["limit"], args["cursor"])
        return descriptions.described(page)
