"""Who is calling the staff API, and whether their role holds the view's permission.

Every staff view declares what it needs with `staff_required(permission)`, as a
MethodView's `decorators = [...]` or on a single method.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import g
from flask_babel import lazy_gettext as _l

from backend.errors import Forbidden
from backend.staff import service
from backend.staff.models import StaffSession, StaffUser
from backend.staff.permissions import check_permission, role_allows
from backend.tokens import authenticate_bearer


def staff_required(permission: str | None = None) -> Callable:
    """Refuse the request unless a live staff token's role holds `permission`.

    Without a permission, any signed-in staff user passes (their own profile, sign-out).
    """
    if permission is not None:
        check_permission(permission)

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            session = authenticate_bearer(service.authenticate, realm="staff")
            if permission is not None and not role_allows(session.staff_user.role, permission):
                raise Forbidden(_l("Your role may not do this."), code="forbidden_role")
            g.staff_session = session
            return view(*args, **kwargs)

        return wrapper

    return decorator


def current_staff_session() -> StaffSession:
    return g.staff_session


def current_staff() -> StaffUser:
    return g.staff_session.staff_user
