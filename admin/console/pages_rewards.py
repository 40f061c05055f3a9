"""Reward pages: the catalogue with stock, create and edit, add or withdraw stock, a
reward's redemptions, and verifying a redemption code at the till (marked used once).
"""

from __future__ import annotations

import marshmallow as ma
from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from admin.console import labels
from admin.console.auth import console_page
from admin.console.form_input import (
    blank_to_none,
    load,
    local_input,
    page_of,
    refused,
)
from admin.console.views import console, nav_item
from backend.api import Schema
from backend.errors import AppError, Conflict
from backend.i18n import N_
from points.rewards import service
from points.rewards.models import Redemption, Reward
from points.rewards.schemas import RewardEditSchema, RewardWriteSchema, VerifySchema

MANAGE = "manage_rewards"
VERIFY_REDEMPTIONS = "verify_redemptions"  # campaign admins and merchants
FORM = "console/rewards/form.html"
SHOW = "console/rewards/show.html"
VERIFY = "console/rewards/verify.html"

nav_item("console.rewards", N_("Rewards"), MANAGE)
nav_item("console.redemption_verify_form", N_("Verify a redemption code"), VERIFY_REDEMPTIONS)

STATUS_NAMES = labels.STATUS_NAMES["redemption"]


class StockForm(Schema):
    amount = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=1_000_000))
    direction = ma.fields.String(required=True, validate=ma.validate.OneOf(("add", "withdraw")))


def _body(form: MultiDict, *, creating: bool) -> dict:
    body = {
        name: form.get(name, "").strip()
        for name in ("title", "merchant_name", "cost_points", "valid_from", "valid_until")
    }
    body["description"] = form.get("description", "")
    body["image_url"] = blank_to_none(form.get("image_url"))
    body["per_resident_limit"] = blank_to_none(form.get("per_resident_limit"))
    body["active"] = "active" in form  # an unticked box sends nothing
    if creating:
        body["stock"] = form.get("stock", "").strip()
    return body


def _shown(reward: Reward) -> MultiDict:
    form = MultiDict(
        {
            "title": reward.title,
            "description": reward.description,
            "image_url": reward.image_url or "",
            "merchant_name": reward.merchant_name,
            "cost_points": str(reward.cost_points),
            "per_resident_limit": str(reward.per_resident_limit or ""),
            "valid_from": local_input(reward.valid_from),
            "valid_until": local_input(reward.valid_until),
        }
    )
    if reward.active:
        form["active"] = "on"
    return form


def _form_page(form: MultiDict, reward: Reward | None, refusal: AppError | None = None):
    if refusal is not None:
        return refused(refusal, FORM, form=form, reward=reward)
    return render_template(FORM, form=form, reward=reward, errors={})


def _reward_page(reward_id: int, refusal: AppError | None = None):
    reward = service.get_reward(reward_id)
    page = page_of(service.redemptions_of_reward_query(reward_id), Redemption.id)
    context = {
        "reward": reward,
        "redemptions": page["items"],
        "next_cursor": page["next_cursor"],
        "status_names": STATUS_NAMES,
        "stock_form": request.form if refusal is not None else MultiDict(),
    }
    if refusal is not None:
        return refused(refusal, SHOW, **context)
    return render_template(SHOW, errors={}, **context)


@console.route("/rewards")
@console_page(MANAGE)
def rewards():
    page = page_of(service.staff_rewards_query(), Reward.id)
    return render_template(
        "console/rewards/list.html", rewards=page["items"], next_cursor=page["next_cursor"]
    )


@console.route("/rewards/new")
@console_page(MANAGE)
def reward_new():
    return _form_page(MultiDict({"active": "on"}), None)


@console.route("/rewards/new", methods=["POST"])
@console_page(MANAGE)
def reward_create():
    try:
        reward = service.create_reward(
            load(RewardWriteSchema(), _body(request.form, creating=True))
        )
    except AppError as exc:
        return _form_page(request.form, None, exc)
    flash(_("The reward was created."), "info")
    return redirect(url_for("console.reward", reward_id=reward.id))


@console.route("/rewards/<int:reward_id>")
@console_page(MANAGE)
def reward(reward_id: int):
    return _reward_page(reward_id)


@console.route("/rewards/<int:reward_id>/edit")
@console_page(MANAGE)
def reward_edit(reward_id: int):
    reward = service.get_reward(reward_id)
    return _form_page(_shown(reward), reward)


@console.route("/rewards/<int:reward_id>/edit", methods=["POST"])
@console_page(MANAGE)
def reward_save(reward_id: int):
    reward = service.get_reward(reward_id)
    try:
        changes = load(RewardEditSchema(partial=True), _body(request.form, creating=False))
        service.edit_reward(reward_id, changes)
    except AppError as exc:
        return _form_page(request.form, reward, exc)
    flash(_("The reward was saved."), "info")
    return redirect(url_for("console.reward", reward_id=reward_id))


@console.route("/rewards/<int:reward_id>/stock", methods=["POST"])
@console_page(MANAGE)
def reward_stock(reward_id: int):
    try:
        body = load(StockForm(), {k: request.form.get(k, "") for k in ("amount", "direction")})
        delta = body["amount"] if body["direction"] == "add" else -body["amount"]
        reward = service.change_stock(reward_id, delta)
    except AppError as exc:
        return _reward_page(reward_id, exc)
    flash(_("Stock changed: %(left)s left.", left=reward.stock_left), "info")
    return redirect(url_for("console.reward", reward_id=reward_id))


@console.route("/redemptions/verify")
@console_page(VERIFY_REDEMPTIONS)
def redemption_verify_form():
    return render_template(
        VERIFY, code="", redemption=None, verified=False, errors={}, status_names=STATUS_NAMES
    )


@console.route("/redemptions/verify", methods=["POST"])
@console_page(VERIFY_REDEMPTIONS)
def redemption_verify():
    code = request.form.get("code", "").strip()
    try:
        body = load(VerifySchema(), {"code": code})
        redemption = service.verify(body["code"], g.staff_session.staff_user.id)
    except AppError as exc:
        # An already used code: show when, so the merchant can tell the resident.
        found = service.redemption_by_code(code) if isinstance(exc, Conflict) else None
        return refused(
            exc, VERIFY, code=code, redemption=found, verified=False, status_names=STATUS_NAMES
        )
    return render_template(
        VERIFY, code="", redemption=redemption, verified=True, errors={}, status_names=STATUS_NAMES
    )
