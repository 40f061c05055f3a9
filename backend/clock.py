"""Time: storage is UTC; "a day" is a calendar day in Asia/Shanghai."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
# The offset the API shows, always: the zone's history has others (local mean time before
# 1901, +09:00 summers 1986-1991), which a client's RFC 3339 parser may refuse or misread.
API_OFFSET = timezone(timedelta(hours=8))


def utcnow() -> datetime:
    return datetime.now(UTC)


def local_moment(moment: datetime) -> datetime:
    """A moment as the API shows it: with Beijing's offset, +08:00. Stored moments are UTC;
    a naive one is read as UTC, as storage keeps them."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(API_OFFSET)


def local_day(moment: datetime) -> date:
    """The Asia/Shanghai calendar day a moment falls on (caps, streaks, daily statistics)."""
    return moment.astimezone(LOCAL_TZ).date()


def period_keys(day: date) -> dict[str, str]:
    """The keys of the periods a local day belongs to: all time, its ISO week, its month."""
    iso_year, iso_week, _ = day.isocalendar()
    return {"all": "all", "week": f"w{iso_year}-{iso_week:02d}", "month": f"m{day:%Y-%m}"}
