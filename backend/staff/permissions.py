"""What each staff role may do, declared in one table (DESIGN.md section 1).

Views name a permission with `staff_required(...)`; nothing else compares role names.
"""

from __future__ import annotations

REVIEW_ACTIONS = "review_actions"
MANAGE_CAMPAIGNS = "manage_campaigns"  # campaigns, their rules and QR check-in points
MANAGE_ORGANIZATIONS = "manage_organizations"  # schools, communities, employers, agencies
MANAGE_REWARDS = "manage_rewards"
MANAGE_RESIDENTS = "manage_residents"  # look up, suspend, adjust points with a reason
READ_STATS = "read_stats"
MANAGE_METHODOLOGY = "manage_methodology"
MANAGE_API_CLIENTS = "manage_api_clients"
VIEW_AUDIT_LOG = "view_audit_log"
MANAGE_STAFF = "manage_staff"  # create staff users, change roles, reset passwords, disable
VERIFY_REDEMPTIONS = "verify_redemptions"  # a merchant's one permission

PERMISSIONS: frozenset[str] = frozenset(
    {
        REVIEW_ACTIONS,
        MANAGE_CAMPAIGNS,
        MANAGE_ORGANIZATIONS,
        MANAGE_REWARDS,
        MANAGE_RESIDENTS,
        READ_STATS,
        MANAGE_METHODOLOGY,
        MANAGE_API_CLIENTS,
        VIEW_AUDIT_LOG,
        MANAGE_STAFF,
        VERIFY_REDEMPTIONS,
    }
)

# One row per role of backend.staff.models.ROLES; a role missing here may do nothing.
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "superadmin": PERMISSIONS,
    "campaign_admin": frozenset(
        {
            MANAGE_CAMPAIGNS,
            MANAGE_ORGANIZATIONS,
            MANAGE_REWARDS,
            VERIFY_REDEMPTIONS,
            MANAGE_RESIDENTS,
            REVIEW_ACTIONS,
            READ_STATS,
        }
    ),
    "reviewer": frozenset({REVIEW_ACTIONS, READ_STATS}),
    "analyst": frozenset({READ_STATS}),
    "merchant": frozenset({VERIFY_REDEMPTIONS}),
}


def check_permission(permission: str) -> str:
    """Return `permission` if it is declared; a misspelt name fails loudly at import time."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown staff permission {permission!r}")
    return permission


def role_allows(role: str, permission: str) -> bool:
    return check_permission(permission) in ROLE_PERMISSIONS.get(role, frozenset())


def permissions_of(role: str) -> list[str]:
    return sorted(ROLE_PERMISSIONS.get(role, frozenset()))
