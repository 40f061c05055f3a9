"""Campaign pages: the list, create and edit with rules, publish, end, and a campaign's
page with its live progress and its QR check-in points (posters, token rotation, each
point's location, and an event screen showing its rotating code).

Forms are read with the staff API's schemas and changed through campaigns' services only.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import marshmallow as ma
from flask import (
    Response,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from admin.console import charts, labels
from admin.console.auth import console_page
from admin.console.form_input import (
    blank_to_none,
    field_messages,
    kg_input,
    load,
    local_input,
    page_of,
    refused,
)
from admin.console.labels import variant_label
from admin.console.views import TYPE_NAMES, console, nav_item
from admin.stats import service as stats_service
from backend.districts.service import list_districts, read_reference_file
from backend.errors import AppError
from backend.extensions import db
from backend.i18n import N_
from campaigns import checkins, service
from campaigns.models import CAMPAIGN_STATUSES, Campaign
from campaigns.organizations.models import STAFF_KINDS, Organization
from campaigns.schemas import (
    MIN_MULTIPLIER,
    CampaignWriteSchema,
    CheckinLocationSchema,
    CheckinPointWriteSchema,
    RulesSchema,
    StaffCampaignListArgs,
)
from points.actions.models import ACTION_TYPES
from points.methodology.service import current_methodology

MANAGE = "manage_campaigns"
FORM = "console/campaigns/form.html"
SHOW = "console/campaigns/show.html"
# The rules editor's factor inputs are named after the multiplier's key: multiplier.trip:bus
MULTIPLIER_FIELD = "multiplier."
ORGANIZATION_CHOICES = 500  # staff organisations offered in the form's list

nav_item("console.campaigns", N_("Campaigns"), MANAGE)

STATUS_NAMES = labels.STATUS_NAMES["campaign"]


def _kg_field() -> ma.fields.Decimal:
    return ma.fields.Decimal(
        allow_none=True, validate=ma.validate.Range(min=Decimal("0.001"), max=10**12)
    )


class CampaignForm(CampaignWriteSchema):
    """The API's campaign body, with the goals typed in kg (they are stored in grams)."""

    goal_kg = _kg_field()
    team_goal_kg = _kg_field()

    @ma.post_load
    def _goal_in_grams(self, data: dict, **kwargs) -> dict:
        for kg_name, grams_name in (
            ("goal_kg", "goal_co2e_g"),
            ("team_goal_kg", "team_goal_co2e_g"),
        ):
            if kg_name in data:
                kg = data.pop(kg_name)
                grams = None if kg is None else (kg * 1000).to_integral_value(ROUND_HALF_UP)
                data[grams_name] = None if grams is None else int(grams)
        return data


def _body(form: MultiDict) -> dict:
    """The form as an API body: the fields it carries (a disabled input sends nothing)."""
    body: dict = {}
    for name in ("title", "starts_at", "ends_at"):
        if name in form:
            body[name] = form[name].strip()
    if "description" in form:
        body["description"] = form["description"]
    if "event_key" in form:
        body["event_key"] = blank_to_none(form["event_key"])
    for name in ("join_bonus", "checkin_points", "team_bonus_points"):
        if blank_to_none(form.get(name)) is not None:
            body[name] = form[name].strip()
    for name in ("goal_kg", "team_goal_kg"):
        if name in form:
            body[name] = blank_to_none(form[name])
    if "organizations_shown" in form:
        body["organization_kinds"] = sorted(set(form.getlist("organization_kinds")))
        body["organization_ids"] = sorted(
            {value.strip() for value in form.getlist("organization_ids") if value.strip()}
        )
    # Hidden markers: no ticked box and no filled row still mean "none", not "unchanged".
    if "districts_shown" in form:
        body["district_codes"] = sorted(set(form.getlist("district_codes")))
    if "multipliers_shown" in form:
        body["multipliers"] = {
            name.removeprefix(MULTIPLIER_FIELD): factor.strip()
            for name, factor in form.items()
            if name.startswith(MULTIPLIER_FIELD) and factor.strip()
        }
    return body


def _shown(campaign: Campaign) -> MultiDict:
    """What the edit form shows for `campaign`: Beijing time, kg, multipliers as factors."""
    rules = RulesSchema().dump(campaign.rules)
    form = MultiDict(
        {
            "title": campaign.title,
            "description": campaign.description,
            "event_key": campaign.event_key or "",
            "starts_at": local_input(campaign.starts_at),
            "ends_at": local_input(campaign.ends_at),
            "join_bonus": str(rules["join_bonus"]),
            "checkin_points": str(rules["checkin_points"]),
            "goal_kg": kg_input(campaign.goal_co2e_g),
            "team_goal_kg": kg_input(campaign.team_goal_co2e_g),
            "team_bonus_points": str(rules["team_bonus_points"]),
            "districts_shown": "1",
            "organizations_shown": "1",
            "multipliers_shown": "1",
        }
    )
    for code in campaign.district_codes:
        form.add("district_codes", code)
    for kind in campaign.organization_kinds:
        form.add("organization_kinds", kind)
    for organization_id in campaign.organization_ids:
        form.add("organization_ids", str(organization_id))
    for key, factor in rules["multipliers"].items():
        form[f"{MULTIPLIER_FIELD}{key}"] = f"{factor:g}"
    return form


def _changes(campaign: Campaign, form: MultiDict) -> dict:
    """Only what the admin changed: an untouched start of a published campaign, or its
    untouched rules, must not count as a change (the service refuses or versions those)."""
    edit_form = CampaignForm(partial=True)
    submitted = load(edit_form, _body(form))
    shown = load(edit_form, _body(_shown(campaign)))
    return {name: value for name, value in submitted.items() if shown.get(name) != value}


def _multiplier_rows(form: MultiDict, refusal: AppError | None) -> list[dict]:
    """One row per multiplier key of the methodology in force: each action type (its
    variants without a factor of their own follow it), then each of its variants; and a
    row for any key the form holds beyond those (a variant an older methodology had), so
    that saving keeps or refuses it visibly rather than dropping it."""
    refused_keys = (refusal.fields.get("multipliers") if refusal else None) or {}
    refused_keys = field_messages(refused_keys) if isinstance(refused_keys, dict) else {}
    variants: dict[str, list[str]] = {action_type: [] for action_type in ACTION_TYPES}
    for factor in current_methodology().factors:
        variants.setdefault(factor.action_type, []).append(factor.variant)
    rows = []
    for action_type, names in variants.items():
        rows.append({"key": action_type, "type": action_type, "variant": None})
        rows.extend(
            {"key": f"{action_type}:{name}", "type": action_type, "variant": name} for name in names
        )
    known = {row["key"] for row in rows}
    for name in form:
        key = name.removeprefix(MULTIPLIER_FIELD)
        if name.startswith(MULTIPLIER_FIELD) and key not in known:
            action_type, _sep, variant = key.partition(":")
            rows.append({"key": key, "type": action_type, "variant": variant or None})
    for row in rows:
        row["type_name"] = TYPE_NAMES.get(row["type"], row["type"])
        row["variant_name"] = row["variant"] and variant_label(row["type"], row["variant"])
        row["field"] = f"{MULTIPLIER_FIELD}{row['key']}"
        row["id"] = "multiplier-" + row["key"].replace(":", "-")
        row["value"] = form.get(row["field"], "")
        row["errors"] = refused_keys.get(row["key"], [])
    return rows


def _form_page(form: MultiDict, campaign: Campaign | None, refusal: AppError | None = None):
    rows = _multiplier_rows(form, refusal)
    context = {
        "form": form,
        "campaign": campaign,
        "districts": list_districts(),
        "events": read_reference_file()["events"],
        "multiplier_rows": rows,
        "multiplier_refused_by_row": any(row["errors"] for row in rows),
        "min_multiplier": MIN_MULTIPLIER,
        "max_multiplier": current_app.config["CAMPAIGN_MAX_MULTIPLIER"],
        "max_team_bonus": current_app.config["CAMPAIGN_MAX_TEAM_BONUS"],
        "organization_kinds": labels.ORGANIZATION_KIND_NAMES,
        "organizations": db.session.scalars(
            select(Organization)
            .where(Organization.kind.in_(STAFF_KINDS), Organization.status == "active")
            .order_by(Organization.kind, Organization.name)
            .limit(ORGANIZATION_CHOICES)
        ).all(),
    }
    if refusal is not None:
        return refused(refusal, FORM, **context)
    return render_template(FORM, errors={}, **context)


def _campaign_page(
    campaign_id: int, refusal: AppError | None = None, point_form: MultiDict | None = None
):
    campaign = service.get_campaign(campaign_id)
    districts = {d.code: d for d in list_districts()}
    events = {e["key"]: e for e in read_reference_file()["events"]}
    context = {
        "campaign": service.describe(campaign),
        "status_names": STATUS_NAMES,
        "district_names": [districts[c] for c in campaign.district_codes if c in districts],
        "event": events.get(campaign.event_key),
        "points": checkins.points_of(campaign_id),
        "point_form": point_form or MultiDict(),
        "progress_days": [
            (day.isoformat(), grams) for day, grams in stats_service.campaign_days(campaign_id)
        ],
    }
    chart = charts.campaign_progress(context["progress_days"], campaign.goal_co2e_g)
    context["progress_chart"] = chart
    totals = chart["series"][0]["data"]
    context["progress_rows"] = [
        (day, grams, total)
        for (day, grams), total in zip(context["progress_days"], totals, strict=True)
    ]
    if refusal is not None:
        # Field messages go beside the check-in point form; a button's refusal is flashed.
        return refused(refusal, SHOW, with_fields=point_form is None, **context)
    return render_template(SHOW, errors={}, **context)


@console.route("/campaigns")
@console_page(MANAGE)
def campaigns():
    status = request.args.get("status") or None
    load(StaffCampaignListArgs(), {"status": status} if status else {})
    page = page_of(service.staff_campaigns_query(status), Campaign.id)
    return render_template(
        "console/campaigns/list.html",
        campaigns=[service.describe(c) for c in page["items"]],
        next_cursor=page["next_cursor"],
        status=status,
        statuses=CAMPAIGN_STATUSES,
        status_names=STATUS_NAMES,
    )


@console.route("/campaigns/new")
@console_page(MANAGE)
def campaign_new():
    return _form_page(
        MultiDict({"districts_shown": "1", "multipliers_shown": "1", "organizations_shown": "1"}),
        None,
    )


@console.route("/campaigns/new", methods=["POST"])
@console_page(MANAGE)
def campaign_create():
    try:
        body = load(CampaignForm(), _body(request.form))
        campaign = service.create_campaign(body, g.staff_session.staff_user.id)
    except AppError as exc:
        return _form_page(request.form, None, exc)
    flash(_("The campaign was created as a draft."), "info")
    return redirect(url_for("console.campaign", campaign_id=campaign.id))


@console.route("/campaigns/<int:campaign_id>")
@console_page(MANAGE)
def campaign(campaign_id: int):
    return _campaign_page(campaign_id)


@console.route("/campaigns/<int:campaign_id>/progress")
@console_page(MANAGE)
def campaign_progress(campaign_id: int):
    """The progress panel alone: the campaign page refreshes it in place."""
    described = service.describe(service.get_campaign(campaign_id))
    return render_template("console/campaigns/_progress.html", campaign=described)


@console.route("/campaigns/<int:campaign_id>/edit")
@console_page(MANAGE)
def campaign_edit(campaign_id: int):
    campaign = service.get_campaign(campaign_id)
    return _form_page(_shown(campaign), campaign)


@console.route("/campaigns/<int:campaign_id>/edit", methods=["POST"])
@console_page(MANAGE)
def campaign_save(campaign_id: int):
    campaign = service.get_campaign(campaign_id)
    try:
        service.edit_campaign(campaign_id, _changes(campaign, request.form))
    except AppError as exc:
        return _form_page(request.form, campaign, exc)
    flash(_("The campaign was saved."), "info")
    return redirect(url_for("console.campaign", campaign_id=campaign_id))


@console.route("/campaigns/<int:campaign_id>/publish", methods=["POST"])
@console_page(MANAGE)
def campaign_publish(campaign_id: int):
    try:
        service.publish_campaign(campaign_id)
    except AppError as exc:
        return _campaign_page(campaign_id, exc)
    flash(_("The campaign is published: residents of its districts can see and join it."), "info")
    return redirect(url_for("console.campaign", campaign_id=campaign_id))


@console.route("/campaigns/<int:campaign_id>/end", methods=["POST"])
@console_page(MANAGE)
def campaign_end(campaign_id: int):
    try:
        service.end_campaign(campaign_id)
    except AppError as exc:
        return _campaign_page(campaign_id, exc)
    flash(_("The campaign has ended."), "info")
    return redirect(url_for("console.campaign", campaign_id=campaign_id))


LOCATION_FIELDS = ("latitude", "longitude", "radius_m", "mode")


def _location_body(form: MultiDict) -> dict:
    return {
        name: form[name].strip()
        for name in LOCATION_FIELDS
        if blank_to_none(form.get(name)) is not None
    }


def _point_body(form: MultiDict) -> dict:
    body = {name: form.get(name, "").strip() for name in ("name", "place")}
    for name in ("points", "starts_at", "ends_at"):
        if blank_to_none(form.get(name)) is not None:
            body[name] = form[name].strip()
    return {**body, **_location_body(form)}


@console.route("/campaigns/<int:campaign_id>/checkin-points", methods=["POST"])
@console_page(MANAGE)
def checkin_point_create(campaign_id: int):
    try:
        body = load(CheckinPointWriteSchema(), _point_body(request.form))
        checkins.create_point(campaign_id, body)
    except AppError as exc:
        return _campaign_page(campaign_id, exc, point_form=request.form)
    flash(_("The check-in point was created: download its poster and print it."), "info")
    return redirect(url_for("console.campaign", campaign_id=campaign_id, _anchor="checkin-points"))


@console.route("/checkin-points/<int:point_id>/rotate", methods=["POST"])
@console_page(MANAGE)
def checkin_point_rotate(point_id: int):
    point = checkins.rotate(point_id)
    flash(_("The QR code was replaced: print the new poster; the old one no longer works."), "info")
    return redirect(
        url_for("console.campaign", campaign_id=point.campaign_id, _anchor="checkin-points")
    )


@console.route("/checkin-points/<int:point_id>/poster.png")
@console_page(MANAGE)
def checkin_point_poster(point_id: int):
    return Response(
        checkins.poster_png(point_id),
        mimetype="image/png",
        headers={"Content-Disposition": f'attachment; filename="checkin-{point_id}.png"'},
    )


POINT = "console/campaigns/point.html"
MODE_NAMES = {
    "poster": _l("Printed poster (near the point)"),
    "rotating": _l("Event screen (a code that changes every minute)"),
}


def _point_page(point_id: int, refusal: AppError | None = None, form: MultiDict | None = None):
    point = checkins.get_point(point_id)
    shown = form or MultiDict(
        {
            "latitude": "" if point.latitude is None else f"{point.latitude:.6f}",
            "longitude": "" if point.longitude is None else f"{point.longitude:.6f}",
            "radius_m": "" if point.radius_m is None else str(point.radius_m),
            "mode": point.mode,
        }
    )
    context = {"point": point, "form": shown, "mode_names": MODE_NAMES}
    if refusal is not None:
        return refused(refusal, POINT, **context)
    return render_template(POINT, errors={}, **context)


@console.route("/checkin-points/<int:point_id>")
@console_page(MANAGE)
def checkin_point(point_id: int):
    return _point_page(point_id)


@console.route("/checkin-points/<int:point_id>/location", methods=["POST"])
@console_page(MANAGE)
def checkin_point_locate(point_id: int):
    try:
        body = load(CheckinLocationSchema(), _location_body(request.form))
        checkins.set_location(point_id, body)
    except AppError as exc:
        return _point_page(point_id, exc, form=request.form)
    flash(_("The check-in point's location was saved."), "info")
    return redirect(url_for("console.checkin_point", point_id=point_id))


# The event screen: a large QR, replaced as each code's time step ends. The page reloads
# itself with <meta http-equiv="refresh">, so it needs no script (and no inline one).
SCREEN_QR_PX = 720


@console.route("/checkin-points/<int:point_id>/screen")
@console_page(MANAGE)
def checkin_point_screen(point_id: int):
    point = checkins.get_point(point_id)
    response = make_response(
        render_template(
            "console/campaigns/screen.html",
            point=point,
            refresh_seconds=checkins.seconds_to_next_code(),
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@console.route("/checkin-points/<int:point_id>/screen.png")
@console_page(MANAGE)
def checkin_point_screen_png(point_id: int):
    return Response(
        checkins.screen_png(point_id, SCREEN_QR_PX),
        mimetype="image/png",
        headers={"Cache-Control": "no-store"},
    )
