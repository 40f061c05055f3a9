"""Loading methodology versions and answering "which factor, cap, bound applies"."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from decimal import Decimal
from importlib import resources

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from backend.errors import ValidationFailed
from backend.extensions import db
from points.methodology.models import Factor, MethodologyVersion


class MethodologyError(ValueError):
    """The methodology file cannot be loaded as it is."""


def read_packaged_file() -> dict:
    text = resources.files("points.methodology").joinpath("factors.json").read_text()
    return json.loads(text)


def _content_hash(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _milligrams(grams_per_unit) -> int:
    milligrams = Decimal(str(grams_per_unit)) * 1000
    if milligrams != milligrams.to_integral_value() or milligrams < 0:
        raise MethodologyError(f"factor {grams_per_unit} g needs more than 3 decimals or is < 0")
    return int(milligrams)


def load_methodology(data: dict | None = None) -> str:
    """Store a methodology version and put it in force; loading it again changes nothing.

    A version already stored with different content is refused: publish a new version
    instead of editing one that actions may already refer to.
    """
    data = read_packaged_file() if data is None else data
    version = data["methodology_version"]
    digest = _content_hash(data)
    existing = db.session.get(MethodologyVersion, version)
    if existing is not None:
        if existing.content_hash != digest:
            raise MethodologyError(
                f"methodology {version} is already published with other content; "
                "publish a new version instead of editing it"
            )
        return f"methodology {version}: unchanged"
    methodology = MethodologyVersion(
        version=version,
        published=date.fromisoformat(data["published"]),
        grams_per_point=int(data["grams_per_point"]),
        rules={
            key: data[key]
            for key in ("daily_point_caps", "plausibility", "review", "green_travel", "note")
        },
        content_hash=digest,
    )
    for row in data["factors"]:
        methodology.factors.append(
            Factor(
                action_type=row["action_type"],
                variant=row["variant"],
                unit=row["unit"],
                avoided_mg_per_unit=_milligrams(row["avoided_g_per_unit"]),
                source=row["source"],
            )
        )
    db.session.add(methodology)
    db.session.flush()
    return f"methodology {version}: {len(methodology.factors)} factors, now in force"


def current_methodology() -> MethodologyVersion:
    methodology = db.session.scalar(
        select(MethodologyVersion).order_by(MethodologyVersion.in_force_since.desc()).limit(1)
    )
    if methodology is None:
        raise MethodologyError("no methodology loaded: run `flask refdata load`")
    return methodology


def factor_for(methodology: MethodologyVersion, action_type: str, variant: str) -> Factor:
    for factor in methodology.factors:
        if factor.action_type == action_type and factor.variant == variant:
            return factor
    field = {"trip": "mode", "garbage_sorting": "category"}.get(action_type, "type")
    known = sorted(f.variant for f in methodology.factors if f.action_type == action_type)
    raise ValidationFailed(
        fields={field: [_l("Must be one of: %(choices)s.", choices=", ".join(known))]},
        code="unknown_variant",
    )


def co2e_grams(quantity_milli: int, factor: Factor) -> int:
    """quantity x factor, rounded down to whole grams, in integers only."""
    return quantity_milli * factor.avoided_mg_per_unit // 1_000_000


def points_for(methodology: MethodologyVersion, co2e_g: int) -> int:
    return co2e_g // methodology.grams_per_point
