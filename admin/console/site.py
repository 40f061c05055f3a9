"""The console blueprint with every page module registered on it."""

from admin.console import (
    pages_adjustments,  # noqa: F401 - registers its pages
    pages_audit,  # noqa: F401 - registers its pages
    pages_campaign_impact,  # noqa: F401 - registers its pages
    pages_campaigns,  # noqa: F401 - registers its pages
    pages_clients,  # noqa: F401 - registers its pages
    pages_dashboard,  # noqa: F401 - registers its pages
    pages_methodology,  # noqa: F401 - registers its pages
    pages_organization_reports,  # noqa: F401 - registers its pages
    pages_organizations,  # noqa: F401 - registers its pages
    pages_residents,  # noqa: F401 - registers its pages
    pages_review,  # noqa: F401 - registers its pages
    pages_rewards,  # noqa: F401 - registers its pages
    pages_staff,  # noqa: F401 - registers its pages
)
from admin.console.views import console, csrf

__all__ = ["console", "csrf"]
