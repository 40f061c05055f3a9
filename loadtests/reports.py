"""What the DRB and the leaderboards are asked: the report the DRB's client pulls, and the
reads the big database's timings compare against raw GROUP BYs (loadtests/bigdb/raw.py).
"""

from backend.clock import local_day, utcnow

PERIODS = ("week", "month", "all")
_TODAY = local_day(utcnow())
_QUARTER = f"{_TODAY.year}-Q{(_TODAY.month - 1) // 3 + 1}"  # the generated data's quarter

# (path, query) of one report pull: summaries, two time series, green travel, both exports.
STATS_REPORT = (
    ("/api/v1/stats/summary", ""),
    ("/api/v1/stats/summary", "district_code=441202"),
    ("/api/v1/stats/timeseries", "granularity=day&group_by=type"),
    ("/api/v1/stats/timeseries", "granularity=week&group_by=district"),
    ("/api/v1/stats/green-travel", ""),
    ("/api/v1/stats/export.csv", "granularity=week"),
    ("/api/v1/stats/export.xlsx", "granularity=month&group_by=district"),
)

# Under the names `flask --app loadtests.app bench raw-timings --json` gives the same
# figures from raw actions.
REPORT_READS = {
    "stats_summary": "/api/v1/stats/summary",
    "stats_timeseries_type": "/api/v1/stats/timeseries?granularity=day&group_by=type",
    "stats_timeseries_district": "/api/v1/stats/timeseries?granularity=day&group_by=district",
    "stats_green_travel": "/api/v1/stats/green-travel",
    "stats_export_csv": "/api/v1/stats/export.csv?granularity=day&group_by=type",
    "stats_export_xlsx": "/api/v1/stats/export.xlsx?granularity=day&group_by=type",
    **{
        f"leaderboard_{board}_{period}": f"/api/v1/leaderboards/{board}?period={period}"
        for board in ("residents", "districts")
        for period in PERIODS
    },
    **{
        f"leaderboard_organizations_{kind}_{period}": (
            f"/api/v1/leaderboards/organizations?kind={kind}&period={period}"
        )
        for kind in ("school", "household")
        for period in PERIODS
    },
    "stats_organizations_month": "/api/v1/stats/organizations",
    "stats_organizations_quarter": f"/api/v1/stats/organizations?period={_QUARTER}",
    "stats_organizations_export_csv": "/api/v1/stats/organizations/export.csv",
}
