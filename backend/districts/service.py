"""Loading and reading districts; the data file ships inside the package."""

from __future__ import annotations

import json
from importlib import resources

from sqlalchemy import select

from backend.db import Database
from backend.districts.models import District
from backend.extensions import db


def read_reference_file() -> dict:
    return json.loads(resources.files("backend.districts").joinpath("districts.json").read_text())


def load_districts(database: Database = db) -> int:
    """Upsert every district from the data file; returns how many there are."""
    data = read_reference_file()
    session = database.session
    existing = {d.code: d for d in session.scalars(select(District))}
    for order, row in enumerate(data["districts"]):
        district = existing.get(row["code"]) or District(code=row["code"])
        district.name = row["name"]
        district.name_en = row["name_en"]
        district.central_city = bool(row["central_city"])
        district.sort_order = order
        session.add(district)
    session.flush()
    return len(data["districts"])


def list_districts() -> list[District]:
    return list(db.session.scalars(select(District).order_by(District.sort_order)))


def get_district(code: str) -> District | None:
    return db.session.get(District, code)
