"""/api/v1/stats: the DRB's aggregates (summary, time series, green travel, exports).

Readers: a DRB API key with the `stats` scope, or staff whose role holds `read_stats`.
"""

import marshmallow as ma
from flask import Response
from flask.views import MethodView

from admin.stats import exports, green_travel, service
from admin.stats.guard import stats_reader_required
from admin.stats.schemas import (
    GreenTravelArgsSchema,
    GreenTravelSchema,
    SummaryArgsSchema,
    SummarySchema,
    TimeseriesArgsSchema,
    TimeseriesSchema,
)
from backend.api import Blueprint

blp = Blueprint(
    "stats",
    __name__,
    url_prefix="/api/v1/stats",
    description="DRB statistics: aggregates only; cells behind few residents are suppressed",
)
READERS = [{"drb": []}, {"staff": []}]
# A misspelt parameter must not silently widen a report to the defaults.
QUERY = {"location": "query", "unknown": ma.RAISE}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@blp.route("/summary")
class Summary(MethodView):
    decorators = [stats_reader_required]

    @blp.doc(security=READERS)
    @blp.arguments(SummaryArgsSchema, **QUERY)
    @blp.response(200, SummarySchema)
    def get(self, args):
        """Verified participants, actions, CO2e and points over a period, by action type;
        self-declared activity apart"""
        return service.summary(**args)


@blp.route("/timeseries")
class Timeseries(MethodView):
    decorators = [stats_reader_required]

    @blp.doc(security=READERS)
    @blp.arguments(TimeseriesArgsSchema, **QUERY)
    @blp.response(200, TimeseriesSchema)
    def get(self, args):
        """Days, ISO weeks or months inside a period, by action type or district, with totals"""
        return service.timeseries(**args)


@blp.route("/green-travel")
class GreenTravel(MethodView):
    decorators = [stats_reader_required]

    @blp.doc(security=READERS)
    @blp.arguments(GreenTravelArgsSchema, **QUERY)
    @blp.response(200, GreenTravelSchema)
    def get(self, args):
        """Green-travel share of the central city against the target, by district and month
        (verified trips; self-declared apart)"""
        return green_travel.green_travel(**args)


def _attachment(args: dict, extension: str) -> dict:
    name = exports.file_name(service.resolve_period(args["period"], args["start"], args["end"]))
    return {"Content-Disposition": f'attachment; filename="{name}.{extension}"'}


@blp.route("/export.csv")
class ExportCsv(MethodView):
    decorators = [stats_reader_required]

    @blp.doc(security=READERS)
    @blp.arguments(TimeseriesArgsSchema, **QUERY)
    @blp.response(200, content_type="text/csv")
    def get(self, args):
        """The time series as CSV (UTF-8 with BOM), after a header block"""
        return Response(
            exports.timeseries_csv(**args),
            mimetype="text/csv",
            headers=_attachment(args, "csv"),
        )


@blp.route("/export.xlsx")
class ExportXlsx(MethodView):
    decorators = [stats_reader_required]

    @blp.doc(security=READERS)
    @blp.arguments(TimeseriesArgsSchema, **QUERY)
    @blp.response(200, content_type=XLSX)
    def get(self, args):
        """The time series as an Excel workbook, after a header block"""
        return Response(
            exports.timeseries_xlsx(**args), mimetype=XLSX, headers=_attachment(args, "xlsx")
        )
