"""Demo data: one staff user per role and a few residents across districts.

Re-running keeps existing demo accounts; a staff password is reused while the previous
credentials file still matches it, so the file stays valid.
"""

from __future__ import annotations

import json
from pathlib import Path

from flask import current_app

from backend.cli import load_reference_data
from backend.residents import service as residents
from backend.staff import service as staff
from backend.staff.models import ROLES

DEMO_RESIDENTS = (
    ("13800000001", "绿行小王", "441202", "城东社区"),
    ("13800000002", "骑行阿李", "441203", "鼎湖山社区"),
    ("13800000003", "光盘达人", "441204", "南岸社区"),
    ("13800000004", "垃圾分类员", "441284", "东城社区"),
    ("13800000005", "电车车主", "zq-newarea", None),
)


def _previous_passwords() -> dict[str, str]:
    path = Path(current_app.instance_path) / "demo-credentials.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return {u["username"]: u["password"] for u in data.get("staff", [])}


def _seed_staff() -> list[dict]:
    previous = _previous_passwords()
    accounts = []
    for role in ROLES:
        username = f"demo-{role.replace('_', '-')}"
        user = staff.find_staff(username)
        password = previous.get(username)
        if user is None:
            password = password or staff.generate_password()
            staff.create_staff(username, role, password)
        elif password is None or not staff.password_matches(user, password):
            password = staff.generate_password()
            staff.set_password(user, password)
        accounts.append({"username": username, "password": password, "role": role})
    return accounts


def _seed_residents() -> list[dict]:
    seeded = []
    for phone, nickname, district_code, community in DEMO_RESIDENTS:
        resident = residents.find_or_create_by_phone(phone)
        residents.update_profile(
            resident,
            {"nickname": nickname, "district_code": district_code, "community": community},
        )
        seeded.append({"phone": phone, "nickname": nickname})
    return seeded


def seed() -> dict:
    load_reference_data()
    return {"staff": _seed_staff(), "residents": _seed_residents()}
