"""Who may read statistics: a DRB API key with the `stats` scope, or a staff session whose
role holds `read_stats` (analyst and every other role). One guard for every stats view.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from flask import g
from flask_babel import lazy_gettext as _l

from admin.stats import keys
from admin.stats.models import DrbApiKey
from backend.errors import Forbidden
from backend.staff import service as staff_service
from backend.staff.models import StaffSession
from backend.staff.permissions import READ_STATS, role_allows
from backend.tokens import authenticate_bearer


@dataclass(frozen=True)
class StatsReader:
    api_key: DrbApiKey | None = None
    staff_session: StaffSession | None = None


def _authenticate(token: str) -> StatsReader:
    # The API key first: DRB scripts are the usual callers. Anything else must be a live
    # staff session; resident tokens and unknown strings fail there with 401.
    api_key = keys.authenticate_key(token, keys.STATS_SCOPE)
    if api_key is not None:
        return StatsReader(api_key=api_key)
    session = staff_service.authenticate(token)
    if not role_allows(session.staff_user.role, READ_STATS):
        raise Forbidden(_l("Your role may not do this."), code="forbidden_role")
    return StatsReader(staff_session=session)


def stats_reader_required(view: Callable) -> Callable:
    """Refuse the request unless it carries a stats API key or a `read_stats` staff token."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        g.stats_reader = authenticate_bearer(_authenticate, realm="stats")
        return view(*args, **kwargs)

    return wrapper
