"""The dashboard (today, this week, a 30-day trend, the green-travel gauge, top districts)
and the statistics page (the DRB figures with filters and downloads)."""

from __future__ import annotations

from datetime import timedelta

from flask import Response, render_template, request

from admin.console.auth import console_page
from admin.console.charts import gauge, trend_lines
from admin.console.views import console, nav_item
from admin.stats import exports, green_travel, service
from admin.stats.schemas import TimeseriesArgsSchema
from backend.clock import local_day, utcnow
from backend.districts.service import list_districts
from backend.errors import AppError
from backend.i18n import N_

nav_item("console.dashboard", N_("Dashboard"), None)
nav_item("console.statistics", N_("Statistics"), "read_stats")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@console.route("/")
@console_page("read_stats")
def dashboard():
    today = local_day(utcnow())
    week_start = today - timedelta(days=today.weekday())
    month_ago = today - timedelta(days=29)
    trend = service.timeseries(month_ago, today, granularity="day", group_by="type")
    series, peak = trend_lines(trend)
    districts = service.timeseries(month_ago, today, granularity="month", group_by="district")
    top = sorted(
        (g for g in districts["totals"]["groups"] if g["key"] and g["co2e_g"]),
        key=lambda g: g["co2e_g"],
        reverse=True,
    )[:5]
    share = green_travel.green_travel(month_ago, today)
    return render_template(
        "console/dashboard.html",
        today=service.summary(today, today),
        week=service.summary(week_start, today),
        trend=trend,
        series=series,
        peak=peak,
        top_districts=top,
        green=share,
        gauge=gauge(share["share"], share["target"]),
        since=month_ago,
    )


def _filters() -> tuple[dict, dict]:
    """The statistics filters from the query string, read with the API's own schema."""
    raw = {k: v for k, v in request.args.items() if v}
    errors = TimeseriesArgsSchema().validate(raw)
    if errors:
        return {}, errors
    return TimeseriesArgsSchema().load(raw), {}


@console.route("/statistics")
@console_page("read_stats")
def statistics():
    args, errors = _filters()
    context = {"errors": errors, "districts": list_districts(), "query": request.args}
    if not errors:
        try:
            context.update(
                summary=service.summary(
                    args.get("start"),
                    args.get("end"),
                    args.get("district_code"),
                    args.get("campaign_id"),
                ),
                table=service.timeseries(**args),
                green=green_travel.green_travel(args.get("start"), args.get("end")),
            )
        except AppError as exc:
            context["errors"] = exc.fields or {"_schema": [str(exc.message)]}
    status = 422 if context["errors"] else 200
    return render_template("console/statistics.html", **context), status


@console.route("/statistics/export.<any(csv, xlsx):extension>")
@console_page("read_stats")
def statistics_export(extension: str):
    args, errors = _filters()
    if errors:
        return statistics()
    body = exports.timeseries_csv(**args) if extension == "csv" else exports.timeseries_xlsx(**args)
    name = f"zq-carbon-stats-{local_day(utcnow()):%Y%m%d}.{extension}"
    return Response(
        body,
        mimetype="text/csv" if extension == "csv" else XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
