"""What ledger entries campaigns pays say: the campaign's title, the check-in point, the badge
(points.ledger.descriptions); one query per table for a page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from backend.extensions import db
from campaigns.badges.service import catalogue
from campaigns.models import Campaign, CheckinPoint
from points.ledger.descriptions import describe_actions, english, ref_id


def _numbers(causes, word: str) -> set[int]:
    return {int(v) for _, ref in causes if (v := ref_id(ref, word)).isdigit()}


def campaign_bonuses(causes: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    titles = dict(
        db.session.execute(
            select(Campaign.id, Campaign.title).where(Campaign.id.in_(_numbers(causes, "campaign")))
        ).all()
    )
    actions = describe_actions(_numbers(causes, "action"))
    texts = {}
    for kind, ref in causes:
        title = titles.get(int(ref_id(ref, "campaign") or 0))
        if title is None:
            continue
        if "/join/" in ref:
            texts[(kind, ref)] = str(_l("Joined the campaign %(title)s", title=title))
        elif "/team:" in ref:
            texts[(kind, ref)] = str(_l("Team goal reward: %(title)s", title=title))
        else:
            action = actions.get(int(ref_id(ref, "action") or 0), "")
            texts[(kind, ref)] = str(
                _l("Campaign bonus, %(title)s: %(action)s", title=title, action=action)
            )
    return texts


def checkins(causes: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    rows = db.session.execute(
        select(CheckinPoint.id, CheckinPoint.name, Campaign.title)
        .join(Campaign, Campaign.id == CheckinPoint.campaign_id)
        .where(CheckinPoint.id.in_(_numbers(causes, "checkin")))
    )
    points = {row.id: row for row in rows}
    texts = {}
    for kind, ref in causes:
        point = points.get(int(ref_id(ref, "checkin") or 0))
        if point is not None:
            texts[(kind, ref)] = str(
                _l("Check-in at %(point)s, %(title)s", point=point.name, title=point.title)
            )
    return texts


def badges(causes: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    names = {b.key: (b.name_en if english() else b.name) for b in catalogue()}
    return {
        (kind, ref): str(_l("Badge: %(name)s", name=names[ref_id(ref, "badge")]))
        for kind, ref in causes
        if ref_id(ref, "badge") in names
    }
