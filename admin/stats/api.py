"""/api/v1/stats: the DRB's aggregates (summary, time series, green travel, exports).

Readers: a DRB API key with the `stats` scope, or staff whose role holds `read_stats`.
"""

import marshmallow as ma
from flask import Response
from flask.views import MethodView

from admin.stats import exports, green_travel, service
from admin.stats.guard import stats_reader_required
from admin.stats.schemas import (
    ExportArgsSchema,
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


def _export(args: dict, extension: str) -> Response:
    """The export in the language asked for, named by its report and period."""
    period = service.resolve_period(args.pop("period"), args.pop("start"), args.pop("end"))
    make = exports.timeseries_csv if extension == "csv" else exports.timeseries_xlsx
    body = make(period, **args)
    disposition = exports.content_disposition(period, args["group_by"], args["lang"], extension)
    return Response(
        body,
        mimetype="text/csv" if extension == "csv" else XLSX,
        headers={"Content-Disposition": disposition},
    )


@blp.route("/export.csv")
class ExportCsv(MethodView):
    decorators = [stats_reader_required]

    @blp.doc(security=READERS)
    @blp.arguments(ExportArgsSchema, **QUERY)
    @blp.response(200, content_type="text/csv")
    def get(self, args):
        """The time series as CSV (UTF-8 with BOM), after a block of notes; Chinese headers
        and labels unless lang=en"""
        return _export(args, "csv")


@blp.route("/export.xlsx")
class ExportXlsx(MethodView):
    decorators = [stats_reader_required]

    @blp.doc(security=READERS)
    @blp.arguments(ExportArgsSchema, **QUERY)
    @blp.response(200, content_type=XLSX)
    def get(self, args):
        """The time series as an Excel workbook: the table (frozen header row, number
        formats) and a notes sheet; Chinese headers and labels unless lang=en"""
        return _export(args, "xlsx")
