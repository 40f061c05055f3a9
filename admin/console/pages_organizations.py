"""Organisation pages: the list (by kind and district), making a school, community,
employer or agency, and an organisation's page with its invite code (renewed on demand,
printed on a QR poster), its members (nickname, role, joined; never a phone) and the
memberships that ended.

Forms are read with the staff API's schema; changes go through the organisations'
services (campaigns/organizations/service.py and, for what staff do here, staff.py), which
audit them.
"""

from __future__ import annotations

from flask import Response, flash, g, redirect, render_template, request, url_for
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from admin.console import labels
from admin.console.auth import console_page
from admin.console.form_input import blank_to_none, load, page_of, refused
from admin.console.views import console, nav_item
from backend.districts.service import list_districts
from backend.errors import AppError, ValidationFailed
from backend.i18n import N_
from campaigns.graphics import render_organization_poster
from campaigns.organizations import members, service, staff
from campaigns.organizations.models import (
    MEMBER_ROLES,
    ORGANIZATION_KINDS,
    STAFF_KINDS,
    Membership,
    Organization,
)
from campaigns.organizations.schemas import OrganizationWriteSchema, StaffOrganizationListArgs

MANAGE = "manage_organizations"
FORM = "console/organizations/form.html"
SHOW = "console/organizations/show.html"

nav_item("console.organizations", N_("Organisations"), MANAGE)


def _is_zh() -> bool:
    return str(get_locale()) == "zh"


def _district_names() -> dict[str, str]:
    zh = _is_zh()
    return {d.code: (d.name if zh else d.name_en) for d in list_districts()}


@console.route("/organizations")
@console_page(MANAGE)
def organizations():
    kind = request.args.get("kind") or None
    district = request.args.get("district_code") or None
    load(StaffOrganizationListArgs(), {"kind": kind} if kind else {})
    query = service.organizations_query(kind)
    if district:
        query = query.where(Organization.district_code == district)
    page = page_of(query, Organization.id)
    return render_template(
        "console/organizations/list.html",
        organizations=page["items"],
        next_cursor=page["next_cursor"],
        kind=kind,
        kinds=ORGANIZATION_KINDS,
        district_code=district,
        districts=list_districts(),
        district_names=_district_names(),
        zh=_is_zh(),
    )


def _form_page(form: MultiDict, refusal: AppError | None = None):
    context = {"form": form, "kinds": STAFF_KINDS, "districts": list_districts(), "zh": _is_zh()}
    if refusal is not None:
        return refused(refusal, FORM, **context)
    return render_template(FORM, errors={}, **context)


def _body(form: MultiDict) -> dict:
    return {
        "kind": form.get("kind", ""),
        "name": form.get("name", ""),
        "district_code": form.get("district_code", ""),
        "street": blank_to_none(form.get("street")),
    }


@console.route("/organizations/new")
@console_page(MANAGE)
def organization_new():
    return _form_page(MultiDict({"kind": "school"}))


@console.route("/organizations/new", methods=["POST"])
@console_page(MANAGE)
def organization_create():
    try:
        body = load(OrganizationWriteSchema(), _body(request.form))
        organization = service.create_organization(**body, staff_id=g.staff_session.staff_user.id)
    except AppError as exc:
        return _form_page(request.form, exc)
    flash(_("The organisation was created: download its poster and print it."), "info")
    return redirect(url_for("console.organization", organization_id=organization.id))


@console.route("/organizations/<int:organization_id>")
@console_page(MANAGE)
def organization(organization_id: int):
    organization = service.get_organization(organization_id)
    page = page_of(service.open_members_query(organization_id), Membership.id, oldest_first=True)
    history = staff.ended_memberships(organization_id)
    names = staff.nicknames({m.resident_id for m in [*page["items"], *history]})
    return render_template(
        SHOW,
        organization=organization,
        district_name=_district_names().get(organization.district_code or ""),
        staff_kind=organization.kind in STAFF_KINDS,
        members=page["items"],
        next_cursor=page["next_cursor"],
        history=history,
        history_limit=staff.HISTORY_LIMIT,
        nicknames=names,
    )


@console.route("/organizations/<int:organization_id>/rotate", methods=["POST"])
@console_page(MANAGE)
def organization_rotate(organization_id: int):
    staff.rotate_code(organization_id)
    flash(_("The invite code was replaced: print the new poster; the old code no longer works."))
    return redirect(url_for("console.organization", organization_id=organization_id))


def _member_id() -> int:
    raw = request.form.get("resident_id", "")
    if not raw.isdigit():
        raise ValidationFailed(fields={"resident_id": [_("Not a valid integer.")]})
    return int(raw)


@console.route("/organizations/<int:organization_id>/members/role", methods=["POST"])
@console_page(MANAGE)
def organization_member_role(organization_id: int):
    role = request.form.get("role", "")
    if role not in MEMBER_ROLES:
        raise ValidationFailed(fields={"role": [_("Unknown role.")]})
    changed = staff.set_role(
        organization_id, _member_id(), role, staff_id=g.staff_session.staff_user.id
    )
    if changed:
        flash(_("The member's role was changed."), "info")
    else:
        flash(_("The member already had that role."), "info")
    return redirect(url_for("console.organization", organization_id=organization_id))


@console.route("/organizations/<int:organization_id>/members/remove", methods=["POST"])
@console_page(MANAGE)
def organization_member_remove(organization_id: int):
    removed = staff.remove(organization_id, _member_id(), staff_id=g.staff_session.staff_user.id)
    if removed:
        flash(_("The member was removed; what they did while a member still counts."), "info")
    else:
        flash(_("This resident is no longer a member."), "info")
    return redirect(url_for("console.organization", organization_id=organization_id))


@console.route("/organizations/<int:organization_id>/poster.png")
@console_page(MANAGE)
def organization_poster(organization_id: int):
    """The printable poster: always in Chinese, for the residents who scan it."""
    organization = service.get_organization(organization_id)
    with force_locale("zh"):
        kind_name = labels.organization_kind_label(organization.kind)
    districts = {d.code: d.name for d in list_districts()}
    place = " ".join(
        part
        for part in (districts.get(organization.district_code or ""), organization.street)
        if part
    )
    png = render_organization_poster(
        join_url=members.join_url(organization),
        name=organization.name,
        kind_name=kind_name,
        place=place,
        invite_code=organization.invite_code,
    )
    filename = f"organization-{organization.id}-{organization.invite_code}.png"
    return Response(
        png,
        mimetype="image/png",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )
