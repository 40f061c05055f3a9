"""The console blueprint with every page module registered on it."""

from admin.console import pages_dashboard  # noqa: F401 - registers its pages
from admin.console.views import console, csrf

__all__ = ["console", "csrf"]
