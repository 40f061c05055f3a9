"""CSV and Excel exports of a time series, suppression already applied.

In Chinese by default (`lang="en"`: English): headers, action type and district names,
the period's totals labelled 合计. The `key` column keeps the machine codes whatever the
language: an action type, a district code, `total` (every group: the row named 合计) or
`self_declared`.

The CSV (UTF-8 with a BOM, so that Excel reads Chinese) starts with a block of notes
(report, period, methodology version, suppression rule, definitions, generated at), then
a blank line, then the table. The workbook has the table on its first sheet (a frozen
header row, column widths, number formats, each group's share of the period's verified
CO2e) and the notes on a second. A suppressed cell is empty, its row marked as hidden:
what is published is exactly what the API answers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from urllib.parse import quote

from flask_babel import force_locale
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from admin.impact.report import export_lines as impact_lines
from admin.stats import service
from admin.stats.service import MEASURES
from backend.clock import local_moment

LANGS = ("zh", "en")
TOTAL_KEY = "total"  # the row of a period's total over every group
SELF_DECLARED_KEY = "self_declared"  # the row of a period's self-declared actions

COLUMNS = {
    "en": (
        "period",
        "from",
        "to",
        "group_by",
        "key",
        "name",
        *MEASURES,
        "suppressed",
        "verification",
    ),
    "zh": (
        "统计期",
        "起始日",
        "截止日",
        "分组方式",
        "编码",
        "名称",
        "参与人数",
        "行为次数",
        "减排量（克 CO2e）",
        "基础积分",
        "按隐私规则隐藏",
        "核验",
    ),
}
SHARE_COLUMN = {"en": "co2e_share_of_total", "zh": "占本期减排量"}
WIDTHS = (14, 12, 12, 10, 14, 22, 12, 12, 18, 12, 14, 12, 14)

WORDS = {
    "zh": {
        "report": "肇庆碳普惠减排统计",
        "total": "合计",
        "self_declared": "自行申报（单列，减排量为申报值）",
        "type": "行为类型",
        "district": "区县",
        "by_type": "按行为类型",
        "by_district": "按区县",
        "true": "是",
        "false": "否",
        "verified": "已核验",
        "declared": "自行申报",
        "sheet": "统计",
        "notes": "说明",
        "range": "至",
    },
    "en": {
        "report": "Zhaoqing carbon-inclusive statistics (DRB)",
        "total": "total",
        "self_declared": "self-declared (apart, claimed CO2e)",
        "type": "type",
        "district": "district",
        "by_type": "by-type",
        "by_district": "by-district",
        "true": "true",
        "false": "false",
        "verified": "verified",
        "declared": "self_declared",
        "sheet": "statistics",
        "notes": "notes",
        "range": "_",
    },
}
TYPE_NAMES = {
    "zh": {
        "trip": "出行",
        "garbage_sorting": "垃圾分类",
        "clean_plate": "光盘行动",
        "ev_charging": "新能源汽车充电",
    },
    "en": {
        "trip": "Trip",
        "garbage_sorting": "Garbage sorting",
        "clean_plate": "Clean Plate meal",
        "ev_charging": "EV charging",
    },
}
NOTES = {
    "zh": {
        "report": "报表",
        "period": "统计期",
        "from": "起始日",
        "to": "截止日",
        "granularity": "时间粒度",
        "group_by": "分组方式",
        "district_code": "区县筛选",
        "campaign_id": "活动编号",
        "methodology_version": "方法学版本",
        "factor_versions": "排放因子版本",
        "suppression": "隐私规则",
        "verification_rule": "核验规则",
        "co2e_g": "减排量",
        "self_declared": "自行申报",
        "points_awarded": "积分",
        "generated_at": "生成时间（北京时间）",
        "campaign_impact": "活动效果",
    },
    "en": {
        key: key
        for key in (
            "report",
            "period",
            "from",
            "to",
            "granularity",
            "group_by",
            "district_code",
            "campaign_id",
            "methodology_version",
            "factor_versions",
            "suppression",
            "verification_rule",
            "co2e_g",
            "self_declared",
            "points_awarded",
            "generated_at",
            "campaign_impact",
        )
    },
}
GRANULARITY_NAMES = {"zh": {"day": "日", "week": "ISO 周", "month": "月"}}
VERIFICATION_RULE = {
    "zh": "减排量只计已核验的行为（合作方签名事件、经检查的 GPS 轨迹、审核员批准的凭证）；"
    "自行申报的行为单列（核验一栏为“自行申报”），其减排量为申报值，不计入减排量合计。",
    "en": "CO2e counts verified actions only (a partner's signed event, a trip with a "
    "checked GPS trace, evidence a reviewer approved); self-declared actions are rows apart "
    '(verification "self_declared"), their grams as claimed, never in co2e_g.',
}


def file_name(period, group_by: str, lang: str = "zh") -> str:
    """肇庆碳普惠减排统计-按行为类型-2026-11, -2026-W48, -2026-09至2026-11; in English
    (and as the ASCII fallback) zq-carbon-stats-by-type-2026-11, -2026-09_2026-11."""
    words = WORDS[lang]
    label = period.label.replace("..", words["range"])
    if lang == "en":
        return f"zq-carbon-stats-{words['by_' + group_by]}-{label}"
    return f"{words['report']}-{words['by_' + group_by]}-{label}"


def content_disposition(period, group_by: str, lang: str, extension: str) -> str:
    """An attachment named in UTF-8 (RFC 5987 `filename*`) with an ASCII `filename`."""
    ascii_name = f"{file_name(period, group_by, 'en')}.{extension}"
    name = f"{file_name(period, group_by, lang)}.{extension}"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def header_block(table: dict, lang: str) -> list[tuple[str, str]]:
    meta, labels = table["meta"], NOTES[lang]
    granularity = table["granularity"]
    moment = local_moment(meta["generated_at"])
    values = {
        "report": WORDS[lang]["report"],
        "period": meta["period"]["label"],
        "from": meta["period"]["start"].isoformat(),
        "to": meta["period"]["end"].isoformat(),
        "granularity": GRANULARITY_NAMES.get(lang, {}).get(granularity, granularity),
        "group_by": WORDS[lang][table["group_by"]],
        "district_code": meta["district_code"] or "",
        "campaign_id": str(meta["campaign_id"] or ""),
        "methodology_version": meta["methodology_version"],
        "factor_versions": " ".join(meta["factor_versions"]),
        "suppression": str(meta["suppression"]["rule"]),
        "verification_rule": VERIFICATION_RULE[lang],
        "co2e_g": str(meta["definitions"]["co2e_g"]),
        "self_declared": str(meta["definitions"]["self_declared"]),
        "points_awarded": str(meta["definitions"]["points_awarded"]),
        "generated_at": moment.isoformat(timespec="seconds")
        if lang == "en"
        else moment.strftime("%Y-%m-%d %H:%M:%S"),
    }
    notes = [(labels[key], value) for key, value in values.items()]
    # What the campaigns of the period changed (admin.impact), one line each
    period = meta["period"]
    lines = impact_lines(period["start"], period["end"], meta["campaign_id"])
    return notes + [(labels["campaign_impact"], line) for line in lines]


def table_rows(table: dict, lang: str) -> Iterator[list]:
    """The table below the header: suppressed values are None (an empty cell)."""
    words = WORDS[lang]
    group_by = words[table["group_by"]]

    def name(group: dict) -> str:
        if table["group_by"] == "type":
            return TYPE_NAMES[lang].get(group["key"], group["name"])
        return group["name"]

    for item in [*table["items"], table["totals"]]:
        period = words["total"] if item is table["totals"] else item["period"]
        span = [period, item["start"].isoformat(), item["end"].isoformat()]
        cells = [(TOTAL_KEY, words["total"], item["total"])]
        cells += [(group["key"] or "", name(group), group) for group in item["groups"]]
        for key, label, cell in cells:
            measures = [cell[measure] for measure in MEASURES]
            hidden = words["true" if cell["suppressed"] else "false"]
            yield [*span, group_by, key, label, *measures, hidden, words["verified"]]
        declared = item.get("self_declared")
        if declared is not None:
            measures = [declared[m] for m in ("participants", "actions", "co2e_g_claimed")]
            measures.append(declared["points_awarded"])
            hidden = words["true" if declared["suppressed"] else "false"]
            yield [
                *span,
                group_by,
                SELF_DECLARED_KEY,
                words["self_declared"],
                *measures,
                hidden,
                words["declared"],
            ]


def _table(lang: str, period, args: dict) -> tuple[dict, list[tuple[str, str]], list[list]]:
    """The time series in the language asked for (district names and the notes too)."""
    with force_locale(lang):
        table = service.timeseries(period, **args)
        return table, header_block(table, lang), list(table_rows(table, lang))


def timeseries_csv(period, lang: str = "zh", **args) -> bytes:
    _, notes, rows = _table(lang, period, args)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows(notes)
    writer.writerow([])
    writer.writerow(COLUMNS[lang])
    writer.writerows(["" if value is None else value for value in row] for row in rows)
    return out.getvalue().encode("utf-8-sig")


CO2E_AT = COLUMNS["en"].index("co2e_g")
KEY_AT = COLUMNS["en"].index("key")


def _with_shares(rows: list[list]) -> Iterator[list]:
    """Each verified row's share of its period's verified CO2e (both figures published)."""
    total = None
    for row in rows:
        if row[KEY_AT] == TOTAL_KEY:
            total = row[CO2E_AT]
        share = None
        if row[KEY_AT] != SELF_DECLARED_KEY and row[CO2E_AT] is not None and total:
            share = row[CO2E_AT] / total
        yield [*row, share]


def timeseries_xlsx(period, lang: str = "zh", **args) -> bytes:
    _, notes, rows = _table(lang, period, args)
    words = WORDS[lang]
    book = Workbook()
    sheet = book.active
    sheet.title = words["sheet"]
    bold = Font(bold=True)
    heading = PatternFill("solid", fgColor="E3EFE7")
    sheet.append([*COLUMNS[lang], SHARE_COLUMN[lang]])
    for cell in sheet[1]:
        cell.font, cell.fill = bold, heading
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for row in _with_shares(rows):
        sheet.append(row)
        if row[KEY_AT] == TOTAL_KEY:
            for cell in sheet[sheet.max_row]:
                cell.font = bold
    integers = [COLUMNS["en"].index(m) + 1 for m in MEASURES]
    share_at = len(COLUMNS["en"]) + 1
    for row in sheet.iter_rows(min_row=2):
        for column in integers:
            row[column - 1].number_format = "#,##0"
        row[share_at - 1].number_format = "0.0%"
    for index, width in enumerate(WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions

    about = book.create_sheet(words["notes"])
    for label, value in notes:
        about.append([label, value])
        about.cell(about.max_row, 1).font = bold
        about.cell(about.max_row, 2).alignment = Alignment(wrap_text=True, vertical="top")
    about.column_dimensions["A"].width = 22
    about.column_dimensions["B"].width = 100
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
