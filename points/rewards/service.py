"""Redeeming points for rewards, in one transaction that never oversells or overdraws.

Order of locks, the same everywhere: the resident's account row (by posting the ledger
entry), then the reward row (a conditional stock update). The points entry is written
first: a resident racing themselves is serialised on their account row, so the
per-resident limit is counted safely; any refusal after it rolls the whole request back.
"""

from __future__ import annotations

import io
import secrets
from datetime import datetime

import qrcode
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from backend.audit import service as audit
from backend.clock import utcnow
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.extensions import db
from backend.residents import tombstones
from backend.residents.models import Resident
from points.ledger import service as ledger
from points.rewards.models import Redemption, Reward

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud at a till
CODE_LENGTH = 12
COUNTED = ("issued", "used")  # what a per-resident limit counts


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


# --- catalogue (staff) ------------------------------------------------------------------


def create_reward(data: dict) -> Reward:
    _check_window(data["valid_from"], data["valid_until"])
    reward = Reward(**{k: v for k, v in data.items() if k != "stock"})
    reward.stock_total = reward.stock_left = data["stock"]
    db.session.add(reward)
    db.session.flush()
    audit.record("reward.create", "reward", reward.id, None, audit.snapshot(reward))
    return reward


def _check_window(valid_from: datetime, valid_until: datetime) -> None:
    if valid_until <= valid_from:
        raise ValidationFailed(fields={"valid_until": [_l("Must be after valid_from.")]})


def get_reward(reward_id: int) -> Reward:
    reward = db.session.get(Reward, reward_id)
    if reward is None:
        raise NotFound()
    return reward


def edit_reward(reward_id: int, changes: dict) -> Reward:
    reward = get_reward(reward_id)
    _check_window(
        changes.get("valid_from", reward.valid_from), changes.get("valid_until", reward.valid_until)
    )
    before = audit.snapshot(reward)
    for name, value in changes.items():
        setattr(reward, name, value)
    db.session.flush()
    after = audit.snapshot(reward)
    if after != before:
        audit.record("reward.edit", "reward", reward.id, before, after)
    return reward


def change_stock(reward_id: int, delta: int) -> Reward:
    """Add stock, or take back units nobody has redeemed; never below what was redeemed.

    The audit entry's figures are the update's own: redemptions meanwhile cannot blur them.
    """
    changed = db.session.execute(
        update(Reward)
        .where(Reward.id == reward_id, Reward.stock_left + delta >= 0)
        .values(stock_left=Reward.stock_left + delta, stock_total=Reward.stock_total + delta)
        .returning(Reward.stock_left, Reward.stock_total)
    ).one_or_none()
    if changed is None:
        get_reward(reward_id)
        raise Conflict(
            _l("Stock cannot go below what residents have already redeemed."),
            code="stock_below_redeemed",
        )
    left, total = changed
    audit.record(
        "reward.stock",
        "reward",
        reward_id,
        {"stock_left": left - delta, "stock_total": total - delta},
        {"stock_left": left, "stock_total": total, "delta": delta},
    )
    reward = get_reward(reward_id)
    db.session.refresh(reward)
    return reward


def staff_rewards_query():
    return select(Reward)


def redemptions_of_reward_query(reward_id: int):
    get_reward(reward_id)
    return select(Redemption).where(Redemption.reward_id == reward_id)


# --- residents --------------------------------------------------------------------------


def offered_rewards() -> list[Reward]:
    now = utcnow()
    return list(
        db.session.scalars(
            select(Reward)
            .where(Reward.active.is_(True), Reward.valid_from <= now, Reward.valid_until > now)
            .order_by(Reward.cost_points, Reward.id)
        )
    )


def catalogue(resident: Resident) -> list[dict]:
    balance = ledger.account_summary(resident.id).balance
    return [
        {
            **{c.key: getattr(r, c.key) for c in Reward.__table__.columns},
            "affordable": r.cost_points <= balance and r.stock_left > 0,
        }
        for r in offered_rewards()
    ]


def redeem(resident: Resident, reward_id: int) -> Redemption:
    reward = db.session.get(Reward, reward_id)
    now = utcnow()
    if reward is None or not reward.active or not reward.valid_from <= now < reward.valid_until:
        raise NotFound(_l("This reward is not on offer."))
    code = new_code()
    ledger.post_entry(resident.id, "redeem", f"redemption:{code}", -reward.cost_points)
    # Under the account's lock: a deletion that committed meanwhile voided the codes it
    # saw, and no code may be issued to the deleted account after it.
    if db.session.scalar(select(Resident.status).where(Resident.id == resident.id)) != "active":
        raise Conflict(_l("This resident's account is deleted."), code="resident_deleted")
    if reward.per_resident_limit is not None:
        held = db.session.scalar(
            select(func.count())
            .select_from(Redemption)
            .where(
                Redemption.reward_id == reward.id,
                Redemption.resident_id == resident.id,
                Redemption.status.in_(COUNTED),
            )
        )
        # Redemptions of a deleted account whose identity this resident signed up with
        held += tombstones.kept_used(resident.id, "reward", str(reward.id))
        if held >= reward.per_resident_limit:
            raise ValidationFailed(
                _l("You have redeemed this reward as often as allowed."), code="limit_reached"
            )
    taken = db.session.execute(
        update(Reward)
        .where(Reward.id == reward.id, Reward.stock_left > 0)
        .values(stock_left=Reward.stock_left - 1)
        .returning(Reward.id)
    ).scalar_one_or_none()
    if taken is None:
        raise Conflict(_l("This reward is out of stock."), code="out_of_stock")
    redemption = Redemption(
        reward_id=reward.id, resident_id=resident.id, code=code, points=reward.cost_points
    )
    db.session.add(redemption)
    db.session.flush()
    return redemption


def own_redemptions_query(resident_id: int):
    return select(Redemption).where(Redemption.resident_id == resident_id)


def own_redemption(resident_id: int, redemption_id: int) -> Redemption:
    redemption = db.session.get(Redemption, redemption_id)
    if redemption is None or redemption.resident_id != resident_id:
        raise NotFound()
    return redemption


def cancel(resident_id: int, redemption_id: int) -> Redemption:
    """Before use: the points come back (a refund entry) and so does the unit of stock."""
    redemption = own_redemption(resident_id, redemption_id)
    if redemption.status != "issued":
        raise Conflict(_l("Only an unused redemption can be cancelled."), code="not_cancellable")
    refunded = ledger.post_entry(
        resident_id, "refund", f"redemption:{redemption.code}", redemption.points
    )
    cancelled = db.session.execute(
        update(Redemption)
        .where(Redemption.id == redemption.id, Redemption.status == "issued")
        .values(status="cancelled", cancelled_at=utcnow())
    ).rowcount
    if refunded is None or not cancelled:
        raise Conflict(_l("Only an unused redemption can be cancelled."), code="not_cancellable")
    db.session.execute(
        update(Reward)
        .where(Reward.id == redemption.reward_id)
        .values(stock_left=Reward.stock_left + 1)
    )
    db.session.refresh(redemption)
    return redemption


def verify(code: str, staff_id: int) -> Redemption:
    """A merchant scans the code: it is marked used, once."""
    redemption = db.session.scalar(
        select(Redemption).where(Redemption.code == code.strip().upper())
    )
    if redemption is None:
        raise NotFound(_l("No redemption has this code."))
    before = audit.snapshot(redemption)
    used = db.session.execute(
        update(Redemption)
        .where(Redemption.id == redemption.id, Redemption.status == "issued")
        .values(status="used", used_at=utcnow(), used_by=staff_id)
    ).rowcount
    if not used:
        db.session.refresh(redemption)
        if redemption.status == "void":
            raise Conflict(
                _l("This code is void: the account that redeemed it was deleted."),
                code="redemption_void",
            )
        raise Conflict(
            _l("This code was already used or cancelled."),
            code=f"redemption_{redemption.status}",
        )
    db.session.refresh(redemption)
    audit.record(
        "redemption.verify", "redemption", redemption.id, before, audit.snapshot(redemption)
    )
    return redemption


def void_codes_of(resident_id: int) -> int:
    """An account is being deleted: its unused codes are void at once, never to be handed
    over. Each unit goes back to stock and its points back to the (unreachable) account,
    as a cancellation would, with an audit entry; how many were voided.

    Locks as a redemption does: the account first, then the redemptions (a till that
    verifies one meanwhile wins or loses it whole), then the rewards.
    """
    ledger.lock_account(resident_id)
    now = utcnow()
    voided = db.session.execute(
        update(Redemption)
        .where(Redemption.resident_id == resident_id, Redemption.status == "issued")
        .values(status="void", cancelled_at=now)
        .returning(Redemption.id, Redemption.reward_id, Redemption.code, Redemption.points)
    ).all()
    for redemption_id, reward_id, code, points in sorted(voided):
        ledger.post_entry(resident_id, "refund", f"redemption:{code}", points)
        left = db.session.execute(
            update(Reward)
            .where(Reward.id == reward_id)
            .values(stock_left=Reward.stock_left + 1)
            .returning(Reward.stock_left)
        ).scalar_one()
        audit.record(
            "redemption.void",
            "redemption",
            redemption_id,
            {"status": "issued", "reward_id": reward_id, "stock_left": left - 1},
            {
                "status": "void",
                "reason": "account_deleted",
                "reward_id": reward_id,
                "stock_left": left,
            },
        )
    return len(voided)


def limits_kept(resident_id: int, now: datetime) -> list[tombstones.Kept]:
    """What a deleted account used of per-resident reward limits (its own redemptions and
    any it had taken over), kept while each reward is still valid."""
    rows = db.session.execute(
        select(Reward.id, Reward.valid_until, func.count(Redemption.id))
        .join(Redemption, Redemption.reward_id == Reward.id)
        .where(
            Redemption.resident_id == resident_id,
            Redemption.status.in_(COUNTED),
            Reward.per_resident_limit.is_not(None),
            Reward.valid_until > now,
        )
        .group_by(Reward.id, Reward.valid_until)
    )
    return [tombstones.Kept("reward", str(rid), n, until) for rid, until, n in rows]


def redemption_by_code(code: str) -> Redemption | None:
    """The redemption a code names, in any status: what a refused verification shows."""
    return db.session.scalar(select(Redemption).where(Redemption.code == code.strip().upper()))


def qr_png(redemption: Redemption) -> bytes:
    image = qrcode.make(redemption.code, box_size=10, border=4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
