"""CSV and Excel exports of a time series, suppression already applied.

Both start with a header block (period, methodology version, suppression rule, what
points mean), then one row per period and group and the totals; a suppressed cell is
empty with suppressed = true. The CSV is UTF-8 with a BOM so that Excel reads Chinese.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from openpyxl import Workbook
from openpyxl.styles import Font

from admin.stats import service
from admin.stats.service import MEASURES
from backend.clock import local_moment

COLUMNS = (
    "period",
    "from",
    "to",
    "group_by",
    "key",
    "name",
    *MEASURES,
    "suppressed",
    "verification",
)
ALL_KEY = "*"  # the row of a period's total over every group
SELF_DECLARED_KEY = "self_declared"  # the row of a period's self-declared actions


def file_name(period) -> str:
    """zq-carbon-stats-2026-11, -2026-W48, -2026-Q4, -2026-09_2026-11."""
    return f"zq-carbon-stats-{period.label.replace('..', '_')}"


def header_block(table: dict) -> list[tuple[str, str]]:
    meta = table["meta"]
    return [
        ("report", "肇庆碳普惠 DRB statistics"),
        ("period", meta["period"]["label"]),
        ("from", meta["period"]["start"].isoformat()),
        ("to", meta["period"]["end"].isoformat()),
        ("granularity", table["granularity"]),
        ("group_by", table["group_by"]),
        ("district_code", meta["district_code"] or ""),
        ("campaign_id", str(meta["campaign_id"] or "")),
        ("methodology_version", meta["methodology_version"]),
        ("factor_versions", " ".join(meta["factor_versions"])),
        ("suppression", str(meta["suppression"]["rule"])),
        ("co2e_g", str(meta["definitions"]["co2e_g"])),
        ("self_declared", str(meta["definitions"]["self_declared"])),
        ("points_awarded", str(meta["definitions"]["points_awarded"])),
        ("generated_at", local_moment(meta["generated_at"]).isoformat(timespec="seconds")),
    ]


def table_rows(table: dict) -> Iterator[list]:
    """The table below the header: suppressed values are None (an empty cell)."""
    for item in [*table["items"], table["totals"]]:
        span = [item["period"], item["start"].isoformat(), item["end"].isoformat()]
        cells = [(ALL_KEY, "", item["total"])]
        cells += [(group["key"] or "", group["name"], group) for group in item["groups"]]
        for key, name, cell in cells:
            measures = [cell[measure] for measure in MEASURES]
            yield [*span, table["group_by"], key, name, *measures, cell["suppressed"], "verified"]
        declared = item.get("self_declared")
        if declared is not None:
            measures = [declared[m] for m in ("participants", "actions", "co2e_g_claimed")]
            measures.append(declared["points_awarded"])
            yield [
                *span,
                table["group_by"],
                SELF_DECLARED_KEY,
                "",
                *measures,
                declared["suppressed"],
                "self_declared",
            ]


def timeseries_csv(*period, **args) -> bytes:
    table = service.timeseries(*period, **args)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows(header_block(table))
    writer.writerow([])
    writer.writerow(COLUMNS)
    writer.writerows(
        [
            "" if value is None else str(value).lower() if isinstance(value, bool) else value
            for value in row
        ]
        for row in table_rows(table)
    )
    return out.getvalue().encode("utf-8-sig")


def timeseries_xlsx(*period, **args) -> bytes:
    table = service.timeseries(*period, **args)
    book = Workbook()
    sheet = book.active
    sheet.title = "statistics"
    bold = Font(bold=True)
    for name, value in header_block(table):
        sheet.append([name, value])
        sheet.cell(sheet.max_row, 1).font = bold
    sheet.append([])
    sheet.append(list(COLUMNS))
    for cell in sheet[sheet.max_row]:
        cell.font = bold
    for row in table_rows(table):
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
