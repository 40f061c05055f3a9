"""Creation reports as CSV and Excel, suppression already applied: what is published is
exactly what the API answers (a hidden figure is an empty cell, its row marked).

Chinese by default (`lang="en"`: English). The CSV (UTF-8 with a BOM, for Excel) starts
with a block of notes, then a blank line, then the table; the workbook has the table
(frozen header row, number formats) and a notes sheet. One row per kind, then one per
organisation; action types are columns of their own.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill

from admin.organizations.reports import SUMS, organization_report
from admin.stats.exports import TYPE_NAMES, VERIFICATION_RULE
from admin.stats.periods import Period
from backend.clock import local_moment
from backend.districts.service import get_district

KIND_NAMES = {
    "zh": {
        "household": "家庭",
        "school": "学校",
        "community": "社区",
        "employer": "单位",
        "agency": "机关",
    },
    "en": {
        "household": "households",
        "school": "schools",
        "community": "communities",
        "employer": "employers",
        "agency": "agencies",
    },
}
# The report's figures: its counts, the sums the worker keeps per cell, the share
MEASURES = ("members", "participants", "participation_rate", *SUMS, "green_share")
COLUMNS = {
    "en": ("row", "id", "name", "kind", "district", "street", *MEASURES, "suppressed"),
    "zh": (
        "行类别",
        "编号",
        "名称",
        "组织类型",
        "区县",
        "街道",
        "成员数",
        "参与人数",
        "参与率",
        "行为次数",
        "已核验行为次数",
        "减排量（克 CO2e）",
        "自行申报减排量（克，单列）",
        "基础积分",
        "已核验出行次数",
        "绿色出行次数",
        "绿色出行比例",
        "按隐私规则隐藏",
    ),
}
WORDS = {
    "zh": {
        "report": "肇庆碳普惠绿色创建报表",
        "kind_row": "类型合计",
        "org_row": "组织",
        "actions_of": "{}次数",
        "true": "是",
        "false": "否",
        "sheet": "创建报表",
        "notes": "说明",
        "range": "至",
    },
    "en": {
        "report": "zq-carbon-organizations",
        "kind_row": "kind total",
        "org_row": "organization",
        "actions_of": "{} actions",
        "true": "true",
        "false": "false",
        "sheet": "report",
        "notes": "notes",
        "range": "_",
    },
}
NOTES = {
    "zh": {
        "report": (
            "报表",
            "肇庆碳普惠绿色创建报表（绿色家庭、绿色学校、绿色社区、节约型机关、绿色单位）",
        ),
        "period": ("统计期", None),
        "from": ("起始日", None),
        "to": ("截止日", None),
        "suppression": (
            "隐私规则",
            "参与人数少于 {k} 人的组织或单元格不公布数字；另有补充隐藏，使任何合计减去已公布数字"
            "都不能得出被隐藏的数字。家庭只按类型合计公布。",
        ),
        "counting": (
            "统计口径",
            "只计成员加入组织以后、作为成员时的行为；成员退出后，其作为成员时的行为仍计入组织。",
        ),
        "verification_rule": ("核验规则", VERIFICATION_RULE["zh"]),
        "generated_at": ("生成时间（北京时间）", None),
    },
    "en": {
        "report": ("report", "Zhaoqing carbon-inclusive organisation (green creation) report"),
        "period": ("period", None),
        "from": ("from", None),
        "to": ("to", None),
        "suppression": (
            "suppression",
            "Organisations and cells behind fewer than {k} participating members show no "
            "figures; complements are hidden so that no total less what is shown gives a "
            "hidden figure. Households are published only as their kind's total.",
        ),
        "counting": (
            "counting",
            "Only what members did while members counts, from when each joined; what a "
            "member did before leaving stays with the organisation.",
        ),
        "verification_rule": ("verification_rule", VERIFICATION_RULE["en"]),
        "generated_at": ("generated_at", None),
    },
}


def file_name(period: Period, lang: str) -> str:
    label = period.label.replace("..", WORDS[lang]["range"])
    return f"{WORDS[lang]['report']}-{label}"


def content_disposition(period: Period, lang: str, extension: str) -> str:
    ascii_name = f"{file_name(period, 'en')}.{extension}"
    name = f"{file_name(period, lang)}.{extension}"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


def _notes(report: dict, lang: str) -> list[tuple[str, str]]:
    moment = local_moment(report["generated_at"])
    values = {
        "period": report["period"]["label"],
        "from": report["period"]["start"].isoformat(),
        "to": report["period"]["end"].isoformat(),
        "generated_at": moment.strftime("%Y-%m-%d %H:%M:%S"),
    }
    notes = []
    for key, (label, text) in NOTES[lang].items():
        value = values.get(key, text or "")
        notes.append((label, value.format(k=report["min_residents"])))
    return notes


def _types(report: dict) -> list[str]:
    found = {part["action_type"] for row in report["kinds"] for part in row["by_type"]}
    return sorted(found)


def _rows(report: dict, lang: str) -> Iterator[list]:
    words, types = WORDS[lang], _types(report)

    def district(code: str | None) -> str:
        found = get_district(code) if code else None
        if found is None:
            return ""
        return found.name if lang == "zh" else found.name_en

    def figures(row: dict) -> list:
        by_type = {part["action_type"]: part["actions"] for part in row["by_type"]}
        hidden = words["true" if row["suppressed"] else "false"]
        return [*(row[m] for m in MEASURES), hidden, *(by_type.get(t) for t in types)]

    for row in report["kinds"]:
        kind = KIND_NAMES[lang][row["kind"]]
        yield [words["kind_row"], row["kind"], kind, kind, "", "", *figures(row)]
    for row in report["organizations"]:
        kind = KIND_NAMES[lang][row["kind"]]
        place = [district(row["district_code"]), row["street"] or ""]
        yield [words["org_row"], row["id"], row["name"], kind, *place, *figures(row)]


def _header(report: dict, lang: str) -> list[str]:
    names = TYPE_NAMES[lang]
    pattern = WORDS[lang]["actions_of"]
    return [*COLUMNS[lang], *(pattern.format(names.get(t, t)) for t in _types(report))]


def report_csv(period: Period, lang: str = "zh", **filters) -> bytes:
    report = organization_report(period, **filters)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows(_notes(report, lang))
    writer.writerow([])
    writer.writerow(_header(report, lang))
    writer.writerows(
        ["" if value is None else value for value in row] for row in _rows(report, lang)
    )
    return out.getvalue().encode("utf-8-sig")


def report_xlsx(period: Period, lang: str = "zh", **filters) -> bytes:
    report = organization_report(period, **filters)
    words = WORDS[lang]
    book = Workbook()
    sheet = book.active
    sheet.title = words["sheet"]
    sheet.append(_header(report, lang))
    bold, heading = Font(bold=True), PatternFill("solid", fgColor="E3EFE7")
    for cell in sheet[1]:
        cell.font, cell.fill = bold, heading
    rates = {COLUMNS["en"].index(name) for name in ("participation_rate", "green_share")}
    for row in _rows(report, lang):
        sheet.append(row)
        for index, cell in enumerate(sheet[sheet.max_row]):
            if index in rates:
                cell.number_format = "0.0%"
            elif isinstance(cell.value, int) and index > COLUMNS["en"].index("street"):
                cell.number_format = "#,##0"
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    sheet.column_dimensions["C"].width = 24
    about = book.create_sheet(words["notes"])
    for label, value in _notes(report, lang):
        about.append([label, value])
        about.cell(about.max_row, 1).font = bold
    about.column_dimensions["A"].width = 22
    about.column_dimensions["B"].width = 100
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
