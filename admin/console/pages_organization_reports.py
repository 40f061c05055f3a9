"""The creation report page (绿色创建报表): per kind and organisation over whole months,
with charts and downloads — the DRB's `/api/v1/stats/organizations`, for staff."""

from __future__ import annotations

from flask import Response, render_template, request
from flask_babel import get_locale

from admin.console import charts
from admin.console.auth import console_page
from admin.console.labels import ORGANIZATION_KIND_NAMES
from admin.console.views import console, nav_item
from admin.organizations import exports
from admin.organizations.reports import organization_report, resolve_report_period
from admin.organizations.schemas import ReportArgsSchema
from admin.stats import periods
from backend.clock import local_day, utcnow
from backend.districts.service import list_districts
from backend.errors import AppError
from backend.i18n import N_

nav_item("console.organization_report_page", N_("Creation report"), "read_stats")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _filters() -> tuple[dict, dict]:
    """The report's filters from the query string, read with the API's own schema."""
    raw = {k: v for k, v in request.args.items() if v}
    errors = ReportArgsSchema().validate(raw)
    if errors:
        return {}, errors
    return ReportArgsSchema().load(raw), {}


@console.route("/reports/organizations")
@console_page("read_stats")
def organization_report_page():
    args, errors = _filters()
    districts = list_districts()
    context = {
        "errors": errors,
        "districts": districts,
        "district_names": {district.code: district.name for district in districts},
        "kinds": ORGANIZATION_KIND_NAMES,
        "query": request.args,
        "default_period": periods.month(local_day(utcnow())).label,
    }
    if not errors:
        try:
            period = resolve_report_period(args["period"], args["start"], args["end"])
            report = organization_report(
                period, kind=args.get("kind"), district_code=args.get("district_code")
            )
            context.update(period=period, report=report, charts=charts.organizations(report))
        except AppError as exc:
            context["errors"] = exc.fields or {"_schema": [str(exc.message)]}
    status = 422 if context["errors"] else 200
    return render_template("console/organizations/report.html", **context), status


@console.route("/reports/organizations/export.<any(csv, xlsx):extension>")
@console_page("read_stats")
def organization_report_export(extension: str):
    args, errors = _filters()
    if errors:
        return organization_report_page()
    lang = "en" if str(get_locale()) == "en" else "zh"  # the staff member's language
    try:
        period = resolve_report_period(args.pop("period"), args.pop("start"), args.pop("end"))
        make = exports.report_csv if extension == "csv" else exports.report_xlsx
        body = make(period, lang=lang, **args)
    except AppError:
        return organization_report_page()
    return Response(
        body,
        mimetype="text/csv" if extension == "csv" else XLSX,
        headers={"Content-Disposition": exports.content_disposition(period, lang, extension)},
    )
