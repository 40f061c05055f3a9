"""Loading methodology versions and answering "which factor, cap, bound applies"."""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from importlib import resources

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from backend import json_bounds
from backend.audit import service as audit
from backend.errors import Conflict, ValidationFailed
from backend.extensions import db
from points.methodology.models import Factor, MethodologyVersion
from points.methodology.schemas import MethodologyFileSchema

# The rules a version stores besides its factors; the last three since 2026.2 (optional:
# an older version reads them as `Methodology`'s safe defaults).
RULE_KEYS = (
    "daily_point_caps",
    "plausibility",
    "review",
    "green_travel",
    "note",
    "self_declared_points_percent",
    "trace",
    "city_area",
)


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


def _audit_values(methodology: MethodologyVersion | None) -> dict | None:
    """A version as the audit log keeps it: one key per factor and per rule, so the entry
    of a new version shows which figures it changed from the one in force before."""
    if methodology is None:
        return None
    return {
        "version": methodology.version,
        "published": methodology.published.isoformat(),
        "grams_per_point": methodology.grams_per_point,
        **{
            f"factor {f.action_type}:{f.variant}": f"{f.avoided_g_per_unit} g/{f.unit}"
            for f in methodology.factors
        },
        **audit.plain(methodology.rules),
    }


def load_methodology(data: dict | None = None) -> str:
    """Store a methodology version and put it in force; loading it again changes nothing.

    A version already stored with different content is refused: publish a new version
    instead of editing one that actions may already refer to. Putting one in force is
    audited, whoever does it (`flask refdata load`, or staff through `publish_methodology`).
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
    in_force = db.session.scalar(
        select(MethodologyVersion).order_by(MethodologyVersion.in_force_since.desc()).limit(1)
    )
    before = _audit_values(in_force)
    methodology = MethodologyVersion(
        version=version,
        published=date.fromisoformat(data["published"]),
        grams_per_point=int(data["grams_per_point"]),
        rules={key: data[key] for key in RULE_KEYS if key in data},
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
    audit.record(
        "methodology.publish", "methodology_version", version, before, _audit_values(methodology)
    )
    return f"methodology {version}: {len(methodology.factors)} factors, now in force"


def _missing_keys(in_force: dict, offered, prefix: str) -> list[str]:
    """The keys, nested ones too, that `in_force` has and `offered` lacks."""
    missing = []
    for key, value in in_force.items():
        path = f"{prefix}{key}"
        if not isinstance(offered, dict) or key not in offered:
            missing.append(path)
        elif isinstance(value, dict):
            missing.extend(_missing_keys(value, offered[key], f"{path}."))
    return missing


def _dropped(in_force: Methodology, data: dict) -> dict[str, list]:
    """What the new file drops from the version in force: actions, partner feeds and caps
    name those variants and rules, so a new version may change figures and add, not drop."""
    problems: dict[str, list] = {}
    offered = {(row["action_type"], row["variant"]) for row in data["factors"]}
    gone = sorted(
        f"{f.action_type}:{f.variant}"
        for f in in_force.factors
        if (f.action_type, f.variant) not in offered
    )
    if gone:
        problems["factors"] = [_l("Factors in force are missing: %(keys)s.", keys=", ".join(gone))]
    for name in RULE_KEYS:
        if name == "note" or name not in in_force.rules:
            continue  # a rule the version in force lacks is not dropped by lacking it too
        keys = _missing_keys(in_force.rules[name], data.get(name), f"{name}.")
        if keys:
            problems[name] = [_l("Rules in force are missing: %(keys)s.", keys=", ".join(keys))]
    return problems


def _dotted(errors: dict, prefix: str = "") -> dict[str, list]:
    """Nested schema messages keyed by their path ("factors.3.unit"): a long file's
    mistake is found by where it is."""
    flat: dict[str, list] = {}
    for key, value in errors.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_dotted(value, f"{path}."))
        else:
            flat[path] = list(value) if isinstance(value, list | tuple) else [value]
    return flat


def publish_methodology(text: str) -> MethodologyVersion:
    """Check a complete methodology file (JSON, the format of factors.json) and put it in
    force as a new version. A version already published is never edited."""
    try:
        # Bounded as every JSON body is: depth, number length, duplicate keys (a 500 before)
        data = json_bounds.loads(text, json_bounds.JsonLimits.from_config(current_app.config))
    except json_bounds.JsonRefused as exc:
        raise ValidationFailed(fields={"content": [exc.reason]}) from exc
    errors = MethodologyFileSchema().validate(data)
    if errors:
        raise ValidationFailed(fields=_dotted(errors))
    version = data["methodology_version"]
    existing = db.session.get(MethodologyVersion, version)
    if existing is not None:
        if existing.content_hash == _content_hash(data):
            raise Conflict(
                _l("Methodology %(version)s is already published.", version=version),
                code="methodology_published",
            )
        raise Conflict(
            _l(
                "Methodology %(version)s is already published with other content; "
                "publish a new version instead of editing it.",
                version=version,
            ),
            code="methodology_published",
        )
    try:
        dropped = _dropped(current_methodology(), data)
    except MethodologyError:  # the first version ever: nothing in force to keep
        dropped = {}
    if dropped:
        raise ValidationFailed(fields=dropped, code="methodology_incomplete")
    load_methodology(data)
    return db.session.get(MethodologyVersion, version)


def methodology_file(methodology: Methodology) -> dict:
    """A stored version in the format of factors.json: the start of the next version."""
    factors = []
    for factor in methodology.factors:
        grams = factor.avoided_g_per_unit
        factors.append(
            {
                "action_type": factor.action_type,
                "variant": factor.variant,
                "unit": factor.unit,
                "avoided_g_per_unit": int(grams) if grams == grams.to_integral() else float(grams),
                "source": factor.source,
            }
        )
    rules = dict(methodology.rules)
    return {
        "methodology_version": methodology.version,
        "published": methodology.published.isoformat(),
        "grams_per_point": methodology.grams_per_point,
        "note": rules.pop("note"),
        "factors": factors,
        **rules,
    }


def methodology_history() -> list[MethodologyVersion]:
    """Every version published, the one in force first."""
    return list(
        db.session.scalars(
            select(MethodologyVersion).order_by(MethodologyVersion.in_force_since.desc())
        )
    )


@dataclass(frozen=True)
class FactorTerms:
    """A stored factor as the rules read it."""

    id: int
    action_type: str
    variant: str
    unit: str
    avoided_mg_per_unit: int
    source: str

    @property
    def avoided_g_per_unit(self) -> Decimal:
        return Decimal(self.avoided_mg_per_unit) / 1000


@dataclass(frozen=True)
class Methodology:
    """A stored methodology version as the rules read it, kept per process.

    A stored version never changes (loading other content under its name is refused), so
    a copy read once serves every later request: recording an action reads only which
    version is in force, not its rules and factors again. Its dicts are shared: read them,
    never change them.
    """

    version: str
    published: date
    grams_per_point: int
    rules: dict
    factors: tuple[FactorTerms, ...]

    @property
    def daily_point_caps(self) -> dict[str, int]:
        return self.rules["daily_point_caps"]

    @property
    def plausibility(self) -> dict:
        return self.rules["plausibility"]

    @property
    def review(self) -> dict[str, str]:
        return self.rules["review"]

    @property
    def green_travel(self) -> dict:
        return self.rules["green_travel"]

    def self_declared_percent(self, action_type: str) -> int:
        """The percent of its points a self-declared action of this type pays; a version
        that does not say pays nothing."""
        return self.rules.get("self_declared_points_percent", {}).get(action_type, 0)

    @property
    def trace(self) -> dict | None:
        """The trace checks' thresholds; None in a version without them (a trace is then
        not checked, and the trip stays self-declared)."""
        return self.rules.get("trace")

    @property
    def city_area(self) -> list[tuple[float, float]] | None:
        """The city's polygon of (lon, lat), or None in a version without it."""
        area = self.rules.get("city_area")
        return [tuple(vertex) for vertex in area["polygon"]] if area else None


# A stored version's terms, by what identifies its rows: name, content hash and the moment
# they were stored. The name alone is not enough where a database forgets a version and
# stores it again, with new factor ids (each test rolls back what it loaded).
_read: dict[tuple, Methodology] = {}
_IDENTITY = (
    MethodologyVersion.version,
    MethodologyVersion.content_hash,
    MethodologyVersion.in_force_since,
)


def _terms(identity) -> Methodology:
    key = tuple(identity)
    if key not in _read:
        version = key[0]
        stored = db.session.get(MethodologyVersion, version)
        _read[key] = Methodology(
            version=stored.version,
            published=stored.published,
            grams_per_point=stored.grams_per_point,
            rules=copy.deepcopy(stored.rules),
            factors=tuple(
                FactorTerms(
                    id=f.id,
                    action_type=f.action_type,
                    variant=f.variant,
                    unit=f.unit,
                    avoided_mg_per_unit=f.avoided_mg_per_unit,
                    source=f.source,
                )
                for f in stored.factors
            ),
        )
    return _read[key]


def current_methodology() -> Methodology:
    """The version in force."""
    identity = db.session.execute(
        select(*_IDENTITY).order_by(MethodologyVersion.in_force_since.desc()).limit(1)
    ).first()
    if identity is None:
        raise MethodologyError("no methodology loaded: run `flask refdata load`")
    return _terms(identity)


def methodology_of(version: str) -> Methodology:
    """A stored version by name (an action's own)."""
    identity = db.session.execute(
        select(*_IDENTITY).where(MethodologyVersion.version == version)
    ).one()
    return _terms(identity)


def factor_for(
    methodology: Methodology, action_type: str, variant: str, field: str = "type"
) -> FactorTerms:
    """The factor of a type's variant; a field error on `field` (the body field naming the
    variant) when the methodology has none."""
    for factor in methodology.factors:
        if factor.action_type == action_type and factor.variant == variant:
            return factor
    known = sorted(f.variant for f in methodology.factors if f.action_type == action_type)
    raise ValidationFailed(
        fields={field: [_l("Must be one of: %(choices)s.", choices=", ".join(known))]},
        code="unknown_variant",
    )


def co2e_grams(quantity_milli: int, factor: FactorTerms) -> int:
    """quantity x factor, rounded down to whole grams, in integers only."""
    return quantity_milli * factor.avoided_mg_per_unit // 1_000_000


def points_for(methodology: Methodology, co2e_g: int) -> int:
    return co2e_g // methodology.grams_per_point
