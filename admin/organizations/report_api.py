"""/api/v1/stats/organizations: the creation report for the DRB and staff (aggregates
only), and its CSV and Excel exports."""

import marshmallow as ma
from flask import Response
from flask.views import MethodView

from admin.organizations import exports
from admin.organizations.reports import organization_report, resolve_report_period
from admin.organizations.schemas import (
    OrganizationReportSchema,
    ReportArgsSchema,
    ReportExportArgsSchema,
)
from admin.stats.guard import stats_reader_required
from backend.api import Blueprint

blp = Blueprint(
    "organization_reports",
    __name__,
    url_prefix="/api/v1/stats",
    description="DRB statistics: organisations (green creation), aggregates only",
)
READERS = [{"drb": []}, {"staff": []}]
QUERY = {"location": "query", "unknown": ma.RAISE}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _period(args: dict):
    return resolve_report_period(args.pop("period"), args.pop("start"), args.pop("end"))


@blp.route("/organizations")
class Report(MethodView):
    decorators = [stats_reader_required]

    @blp.doc(security=READERS)
    @blp.arguments(ReportArgsSchema, **QUERY)
    @blp.response(200, OrganizationReportSchema)
    def get(self, args):
        """Per kind and per organisation over whole months: members, participation,
        verified CO2e, green-travel share, actions by type; small cells hidden"""
        return organization_report(_period(args), **args)


def _export(args: dict, extension: str) -> Response:
    period = _period(args)
    make = exports.report_csv if extension == "csv" else exports.report_xlsx
    return Response(
        make(period, **args),
        mimetype="text/csv" if extension == "csv" else XLSX,
        headers={
            "Content-Disposition": exports.content_disposition(period, args["lang"], extension)
        },
    )


@blp.route("/organizations/export.csv")
class ReportCsv(MethodView):
    decorators = [stats_reader_required]

    @blp.doc(security=READERS)
    @blp.arguments(ReportExportArgsSchema, **QUERY)
    @blp.response(200, content_type="text/csv")
    def get(self, args):
        """The creation report as CSV (UTF-8 with BOM) after a block of notes"""
        return _export(args, "csv")


@blp.route("/organizations/export.xlsx")
class ReportXlsx(MethodView):
    decorators = [stats_reader_required]

    @blp.doc(security=READERS)
    @blp.arguments(ReportExportArgsSchema, **QUERY)
    @blp.response(200, content_type=XLSX)
    def get(self, args):
        """The creation report as an Excel workbook with a notes sheet"""
        return _export(args, "xlsx")
