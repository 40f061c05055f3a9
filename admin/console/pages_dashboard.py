"""The dashboard (today, this week, a 30-day trend, the green-travel gauge, top districts)
and the statistics page (the DRB figures with filters and downloads)."""

from __future__ import annotations

from datetime import timedelta

from flask import Response, render_template, request
from flask_babel import get_locale

from admin.console import charts
from admin.console.auth import console_page
from admin.console.views import TYPE_NAMES, console, nav_item
from admin.impact import report as impact_report
from admin.stats import exports, green_travel, periods, service
from admin.stats.schemas import TimeseriesArgsSchema
from backend.clock import local_day, utcnow
from backend.districts.service import list_districts
from backend.errors import AppError
from backend.i18n import N_

nav_item("console.dashboard", N_("Dashboard"), "read_stats")  # as its page
nav_item("console.statistics", N_("Statistics"), "read_stats")
# Why a figure is hidden, said where the figure would be (console/_cell.html).
console.add_app_template_global(charts.hidden_reason, "hidden_reason")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@console.route("/")
@console_page("read_stats")
def dashboard():
    today = local_day(utcnow())
    this_month = periods.month(today)
    last_month = periods.month(this_month.start - timedelta(days=1))
    trend_span = periods.months_range(last_month.start, this_month.start)
    trend = service.timeseries(trend_span, granularity="day", group_by="type")
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
        trend_chart=charts.trend(trend, TYPE_NAMES, until=today),
        top_districts=top,
        green=share,
        gauge=charts.gauge(share["share"], share["target"]),
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
            group_by, district_code = args["group_by"], args.get("district_code")
            table = service.timeseries(
                period,
                granularity=args["granularity"],
                group_by=group_by,
                district_code=district_code,
                campaign_id=args.get("campaign_id"),
            )
            green = green_travel.green_travel(period) if period.whole_months else None
            context.update(
                period=period,
                summary=service.summary(
                    period,
                    district_code=args.get("district_code"),
                    campaign_id=args.get("campaign_id"),
                ),
                table=table,
                green=green,
                charts=_statistics_charts(args, period, table, green),
                impacts=impact_report.campaigns_of(
                    period.start, period.end, args.get("campaign_id")
                ),
            )
        except AppError as exc:
            context["errors"] = exc.fields or {"_schema": [str(exc.message)]}
    status = 422 if context["errors"] else 200
    return render_template("console/statistics.html", **context), status


def _statistics_charts(args: dict, period, table: dict, green: dict | None) -> dict:
    """The statistics page's charts: the trend by the chosen grouping, CO2e by district
    over the period (unless one district is chosen), the green-travel share by month."""
    found = {"trend": charts.trend(table, TYPE_NAMES, until=local_day(utcnow()))}
    if table["group_by"] == "district":
        found["districts"] = charts.by_group(table, {})
    elif args.get("district_code") is None:
        by_district = service.timeseries(
            period,
            # only its totals are drawn: the fewest rows that cover the period
            granularity="month" if period.whole_months else "week",
            group_by="district",
            campaign_id=args.get("campaign_id"),
        )
        found["districts"] = charts.by_group(by_district, {})
    if green is not None:
        found["green"] = charts.green_share(green)
    return found


@console.route("/statistics/export.<any(csv, xlsx):extension>")
@console_page("read_stats")
def statistics_export(extension: str):
    args, errors = _filters()
    if errors:
        return statistics()
    lang = "en" if str(get_locale()) == "en" else "zh"  # the staff member's language
    try:
        period = service.resolve_period(args["period"], args["start"], args["end"])
        args = {k: v for k, v in args.items() if k not in ("period", "start", "end")}
        make = exports.timeseries_csv if extension == "csv" else exports.timeseries_xlsx
        body = make(period, lang=lang, **args)
    except AppError:
        return statistics()
    disposition = exports.content_disposition(period, args["group_by"], lang, extension)
    return Response(
        body,
        mimetype="text/csv" if extension == "csv" else XLSX,
        headers={"Content-Disposition": disposition},
    )
