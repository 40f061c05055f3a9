"""The resident's share card: CO2e avoided, trees-equivalent, an invitation QR."""

from __future__ import annotations

import hashlib
import hmac
import json
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from importlib import resources

from flask import current_app

from backend.residents.models import Resident
from campaigns.graphics.share_card import render_share_card
from points.ledger.service import account_summary


@lru_cache(maxsize=1)
def tree_factor() -> dict:
    """The illustration factor and its source, from the packaged data file."""
    return json.loads(resources.files("campaigns").joinpath("share_card.json").read_text())


def trees_equivalent(co2e_g: int) -> Decimal:
    kg_per_tree = Decimal(str(tree_factor()["kg_co2_per_tree_per_year"]))
    return (Decimal(co2e_g) / 1000 / kg_per_tree).quantize(Decimal("0.1"), ROUND_HALF_UP)


def invite_code(resident_id: int) -> str:
    """A stable code for invitation links that does not reveal the resident's id."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"invite:{resident_id}".encode(), hashlib.sha256).hexdigest()[:12]


def share_card_png(resident: Resident) -> bytes:
    co2e_g = account_summary(resident.id).co2e_g_total
    return render_share_card(
        nickname=resident.nickname or "绿色市民",
        co2e_g=co2e_g,
        trees=f"相当于 {trees_equivalent(co2e_g)} 棵树一年的吸碳量",
        invite_url=current_app.config["INVITE_URL"].format(code=invite_code(resident.id)),
    )
