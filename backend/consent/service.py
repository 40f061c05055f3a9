"""Consent rules (PIPL art. 13-14, 28-29): a new resident accepts the privacy notice in
force; a new version asks everyone again before they record more; location (traces,
check-in positions) needs its own consent; either can be withdrawn at any time."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from backend.clock import utcnow
from backend.consent.models import CONSENT_SCOPES, ResidentConsent
from backend.errors import Forbidden, NotFound, ValidationFailed
from backend.extensions import db
from backend.legal.notice import current_privacy_version
from backend.residents.models import Resident


@dataclass(frozen=True)
class ConsentState:
    privacy: ResidentConsent | None
    location: ResidentConsent | None
    current_privacy_version: str

    @property
    def privacy_required(self) -> bool:
        """The resident must accept the notice in force before recording anything more."""
        return self.privacy is None or self.privacy.version != self.current_privacy_version


def _open(resident_id: int, scope: str) -> ResidentConsent | None:
    return db.session.scalar(
        select(ResidentConsent)
        .where(
            ResidentConsent.resident_id == resident_id,
            ResidentConsent.scope == scope,
            ResidentConsent.withdrawn_at.is_(None),
        )
        .order_by(ResidentConsent.id.desc())
        .limit(1)
    )


def state(resident_id: int) -> ConsentState:
    return ConsentState(
        privacy=_open(resident_id, "privacy"),
        location=_open(resident_id, "location"),
        current_privacy_version=current_privacy_version(),
    )


def _stale_version() -> str:
    return _l("This is not the privacy notice in force; read GET /api/v1/legal/privacy again.")


def check_offered(version: str | None) -> None:
    """At sign-in: a version sent must be the one in force (422 consent_required)."""
    if version is not None and version != current_privacy_version():
        message = _stale_version()
        raise ValidationFailed(
            message, code="consent_required", fields={"privacy_version": [message]}
        )


def required_at_sign_up() -> ValidationFailed:
    message = _l("Read and accept the privacy notice (GET /api/v1/legal/privacy) to sign up.")
    return ValidationFailed(message, code="consent_required", fields={"privacy_version": [message]})


def accept(resident: Resident, scope: str, version: str) -> ConsentState:
    """Record a consent to `scope` at the notice `version` (which must be in force); the
    same consent already open is not written twice. The latest open row is the state."""
    if version != current_privacy_version():
        raise ValidationFailed(fields={"version": [_stale_version()]})
    current = _open(resident.id, scope)
    if current is None or current.version != version:
        db.session.add(ResidentConsent(resident_id=resident.id, scope=scope, version=version))
        db.session.flush()
    return state(resident.id)


def withdraw(resident: Resident, scope: str) -> ConsentState:
    """Close the open consents to `scope` (nothing open: nothing changes)."""
    if scope not in CONSENT_SCOPES:
        raise NotFound(_l("No such consent."))
    db.session.execute(
        update(ResidentConsent)
        .where(
            ResidentConsent.resident_id == resident.id,
            ResidentConsent.scope == scope,
            ResidentConsent.withdrawn_at.is_(None),
        )
        .values(withdrawn_at=utcnow())
    )
    db.session.flush()
    return state(resident.id)


def withdrawal_notice(scope: str):
    if scope == "privacy":
        return _l(
            "You withdrew your consent to the privacy notice: you cannot record actions until "
            "you accept it again or delete your account."
        )
    return _l("You withdrew your consent to location: trip traces and check-ins are refused.")


def require_privacy(resident_id: int) -> None:
    """Recording waits until the resident has accepted the notice in force."""
    if state(resident_id).privacy_required:
        raise Forbidden(
            _l(
                "Accept the current privacy notice first (POST /api/v1/me/consents), "
                "then try again."
            ),
            code="consent_required",
        )


def require_location(resident_id: int, field: str) -> None:
    """A position (a trip's trace, a check-in's fix) needs the location consent; the
    request is refused, not silently stripped of it."""
    if _open(resident_id, "location") is None:
        message = _l(
            "Location needs your consent first (POST /api/v1/me/consents with scope location)."
        )
        raise ValidationFailed(message, code="consent_required", fields={field: [message]})


def carry_over(from_resident_id: int, to_resident: Resident) -> None:
    """A merged account's open consents (same person) count for the account it joins,
    where that one has none of its own for the scope."""
    for scope in ("privacy", "location"):
        given = _open(from_resident_id, scope)
        if given is not None and _open(to_resident.id, scope) is None:
            db.session.add(
                ResidentConsent(
                    resident_id=to_resident.id,
                    scope=scope,
                    version=given.version,
                    accepted_at=given.accepted_at,
                )
            )
    db.session.flush()
