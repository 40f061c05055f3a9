"""The dashboard: the first page after sign-in (figures come with the statistics work)."""

from flask import render_template

from admin.console.auth import console_page
from admin.console.views import console, nav_item
from backend.i18n import N_

nav_item("console.dashboard", N_("Dashboard"), None)


@console.route("/")
@console_page()
def dashboard():
    return render_template("console/dashboard.html")
