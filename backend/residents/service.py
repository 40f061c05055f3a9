"""Finding, creating and updating residents."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from backend.districts.service import get_district
from backend.errors import Forbidden, ValidationFailed
from backend.extensions import db
from backend.residents.models import Resident
from backend.residents.phone import encrypt_phone, mask_phone, phone_hmac


def _find_or_create(column, value: str, make: Callable[[], Resident]) -> Resident:
    session = db.session
    resident = session.scalar(select(Resident).where(column == value))
    if resident is not None:
        return resident
    # Two first sign-ins of the same person can race: the unique key decides.
    try:
        with session.begin_nested():
            resident = make()
            session.add(resident)
    except IntegrityError:
        resident = session.scalar(select(Resident).where(column == value))
        if resident is None:
            raise
    return resident


def find_or_create_by_phone(phone: str) -> Resident:
    digest = phone_hmac(phone)
    return _find_or_create(
        Resident.phone_hmac,
        digest,
        lambda: Resident(
            phone_hmac=digest, phone_encrypted=encrypt_phone(phone), phone_masked=mask_phone(phone)
        ),
    )


def find_or_create_by_wechat(openid_hmac: str) -> Resident:
    return _find_or_create(
        Resident.wechat_openid_hmac,
        openid_hmac,
        lambda: Resident(wechat_openid_hmac=openid_hmac),
    )


def ensure_may_sign_in(resident: Resident) -> None:
    if resident.status != "active":
        raise Forbidden(_l("This account is suspended."), code="account_suspended")


def update_profile(resident: Resident, changes: dict[str, Any]) -> Resident:
    district_code = changes.get("district_code")
    if district_code is not None and get_district(district_code) is None:
        raise ValidationFailed(fields={"district_code": [_l("Unknown district.")]})
    for name in ("nickname", "district_code", "community"):
        if name in changes:
            setattr(resident, name, changes[name] or None)
    db.session.flush()
    return resident
