"""The dashboard (today, this week, a 30-day trend, the green-travel gauge, top districts)
and the statistics page (the DRB figures with filters and downloads)."""

from __future__ import annotations

from datetime import timedelta

from flask import Response, render_template, request

from admin.console.auth import console_page
from admin.console.charts import gauge, trend_lines
from admin.console.views import console, nav_item
from admin.stats import exports, green_travel, periods, service
from admin.stats.schemas import TimeseriesArgsSchema
from backend.clock import local_day, utcnow
from backend.districts.service import list_districts
from backend.errors import AppError
from backend.i18n import N_

nav_item("console.dashboard", N_("Dashboard"), "read_stats")  # as its page
nav_item("console.statistics", N_("Statistics"), "read_stats")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@console.route("/")
@console_page("read_stats")
def dashboard():
    today = local_day(utcnow())
    this_month = periods.month(today)
    last_month = periods.month(this_month.start - timedelta(days=1))
    trend_span = periods.months_range(last_month.start, this_month.start)
    trend = service.timeseries(trend_span, granularity="day", group_by="type")
    series, peak = trend_lines(trend)
    districts = service.timeseries(this_month, granularity="month", group_by="district")
    top = sorted(
        (g for g in districts["totals"]["groups"] if g["key"] and g["co2e_g"]),
        key=lambda g: g["co2e_g"],
        reverse=True,
    )[:5]
    share = green_travel.green_travel(this_month)
    return render_template(
        "console/dashboard.html",
        today=service.summary(periods.day_period(today)),
        week=service.summary(periods.week(today)),
        month=this_month,
        trend=trend,
        series=series,
        peak=peak,
        top_districts=top,
        green=share,
        gauge=gauge(share["share"], share["target"]),
        since=trend_span.start,
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
    context = {
        "errors": errors,
        "districts": list_districts(),
        "query": request.args,
        "default_period": periods.month(local_day(utcnow())).label,
    }
    if not errors:
        try:
            period = service.resolve_period(args["period"], args["start"], args["end"])
            context.update(
                period=period,
                summary=service.summary(
                    period,
                    district_code=args.get("district_code"),
                    campaign_id=args.get("campaign_id"),
                ),
                table=service.timeseries(
                    period,
                    granularity=args["granularity"],
                    group_by=args["group_by"],
                    district_code=args.get("district_code"),
                    campaign_id=args.get("campaign_id"),
                ),
                green=green_travel.green_travel(period) if period.whole_months else None,
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
    try:
        period = service.resolve_period(args["period"], args["start"], args["end"])
        args = {k: v for k, v in args.items() if k not in ("period", "start", "end")}
        body = (
            exports.timeseries_csv(period, **args)
            if extension == "csv"
            else exports.timeseries_xlsx(period, **args)
        )
    except AppError:
        return statistics()
    return Response(
        body,
        mimetype="text/csv" if extension == "csv" else XLSX,
        headers={
            "Content-Disposition": f'attachment; filename="{exports.file_name(period)}.{extension}"'
        },
    )
