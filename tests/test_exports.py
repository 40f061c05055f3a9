"""The DRB exports as a bureau opens them: Chinese by default, named by report and period,
the workbook with a frozen header, number formats and a notes sheet."""

import csv
import io
from urllib.parse import unquote

import openpyxl
import pytest

from admin.stats import periods
from backend.clock import local_day, utcnow
from tests.test_console_dashboard import residents_with_trips
from tests.test_stats_api import drb  # noqa: F401  (the DRB's API key fixture)


@pytest.fixture
def month(app, client):
    """Ten residents with a verified bus trip this month (one self-declared walk)."""
    residents_with_trips(client, 10)
    with app.app_context():
        return periods.month(local_day(utcnow())).label


def export(client, headers, extension, **params):
    response = client.get(f"/api/v1/stats/export.{extension}", query_string=params, headers=headers)
    assert response.status_code == 200, response.data[:300]
    return response


def csv_rows(response) -> tuple[dict, list[str], list[list[str]]]:
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    blank = rows.index([])
    return dict(rows[:blank]), rows[blank + 1], rows[blank + 2 :]


def disposition_names(response) -> tuple[str, str]:
    """(filename, the decoded filename*) of the Content-Disposition header."""
    value = response.headers["Content-Disposition"]
    assert value.startswith("attachment; ")
    plain = value.split('filename="')[1].split('"')[0]
    encoded = value.split("filename*=UTF-8''")[1]
    assert encoded == encoded.encode("ascii").decode() and " " not in encoded
    return plain, unquote(encoded)


def test_csv_in_chinese_by_default(client, drb, month):  # noqa: F811
    response = export(client, drb, "csv", period=month, granularity="month")
    notes, header, table = csv_rows(response)
    assert header == [
        "统计期", "起始日", "截止日", "分组方式", "编码", "名称", "参与人数", "行为次数",
        "减排量（克 CO2e）", "基础积分", "按隐私规则隐藏", "核验",
    ]  # fmt: skip
    assert notes["统计期"] == month and notes["方法学版本"]
    assert "北京时间" in "".join(notes) and "已核验" in notes["核验规则"]
    rows = [dict(zip(header, row, strict=True)) for row in table]
    total = next(r for r in rows if r["统计期"] == "合计" and r["编码"] == "total")
    assert total["名称"] == "合计" and total["参与人数"] == "10" and total["核验"] == "已核验"
    trips = next(r for r in rows if r["统计期"] == "合计" and r["编码"] == "trip")
    assert trips["名称"] == "出行" and trips["分组方式"] == "行为类型"
    assert {r["按隐私规则隐藏"] for r in rows} == {"否"}
    declared = next(r for r in rows if r["编码"] == "self_declared")
    assert declared["核验"] == "自行申报" and declared["名称"].startswith("自行申报")
    assert declared["参与人数"] == "0"  # one resident's month group is left out, as before
    assert "*" not in {r["编码"] for r in rows}


def test_csv_in_english_with_lang_en(client, drb, month):  # noqa: F811
    response = export(client, drb, "csv", period=month, group_by="district", lang="en")
    notes, header, table = csv_rows(response)
    assert header[:6] == ["period", "from", "to", "group_by", "key", "name"]
    assert notes["period"] == month and "generated_at" in notes
    rows = [dict(zip(header, row, strict=True)) for row in table]
    assert {"Duanzhou District", "total"} <= {r["name"] for r in rows} or any(
        r["key"] == "441202" and r["name"] != "端州区" for r in rows
    )
    assert any(r["key"] == "total" and r["period"] == "total" for r in rows)
    plain, named = disposition_names(response)
    assert plain == named == f"zq-carbon-stats-by-district-{month}.csv"


def test_file_names_say_the_report_and_the_period(client, drb, month):  # noqa: F811
    response = export(client, drb, "csv", period=month)
    plain, named = disposition_names(response)
    assert plain == f"zq-carbon-stats-by-type-{month}.csv"
    assert named == f"肇庆碳普惠减排统计-按行为类型-{month}.csv"
    year = month[:4]
    response = export(
        client, drb, "xlsx", **{"from": f"{year}-01", "to": month}, group_by="district"
    )
    plain, named = disposition_names(response)
    span = f"{year}-01..{month}" if month != f"{year}-01" else month
    assert plain == f"zq-carbon-stats-by-district-{span.replace('..', '_')}.xlsx"
    assert named == f"肇庆碳普惠减排统计-按区县-{span.replace('..', '至')}.xlsx"


def test_the_workbook_opens_with_a_frozen_header_formats_and_notes(client, drb, month):  # noqa: F811
    response = export(client, drb, "xlsx", period=month, granularity="week")
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["统计", "说明"]
    sheet = book["统计"]
    assert sheet.freeze_panes == "A2"
    header = [cell.value for cell in sheet[1]]
    assert header[:6] == ["统计期", "起始日", "截止日", "分组方式", "编码", "名称"]
    assert header[6:10] == ["参与人数", "行为次数", "减排量（克 CO2e）", "基础积分"]
    assert header[-1] == "占本期减排量"
    assert all(sheet.column_dimensions[letter].width >= 10 for letter in "ABCDEFGHIJ")
    rows = list(sheet.iter_rows(min_row=2))
    total = next(r for r in rows if r[0].value == "合计" and r[4].value == "total")
    assert total[6].value == 10 and total[6].number_format == "#,##0"
    assert total[8].number_format == "#,##0" and total[8].value > 0
    assert total[-1].value == 1 and total[-1].number_format == "0.0%"
    trips = next(r for r in rows if r[0].value == "合计" and r[4].value == "trip")
    assert trips[5].value == "出行" and trips[-1].value == 1
    notes = {row[0]: row[1] for row in book["说明"].iter_rows(values_only=True)}
    assert notes["统计期"] == month and notes["方法学版本"]
    assert "10" in notes["隐私规则"]  # the threshold in force
    assert "已核验" in notes["核验规则"] and "自行申报" in notes["核验规则"]
    assert len(notes["生成时间（北京时间）"]) == len("2026-12-03 23:49:14")


def test_the_workbook_in_english(client, drb, month):  # noqa: F811
    response = export(client, drb, "xlsx", period=month, lang="en")
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["statistics", "notes"]
    header = [cell.value for cell in book["statistics"][1]]
    assert header[6:10] == ["participants", "actions", "co2e_g", "points_awarded"]
    notes = {row[0]: row[1] for row in book["notes"].iter_rows(values_only=True)}
    assert notes["methodology_version"] and "+08:00" in notes["generated_at"]


def test_an_unknown_language_is_refused(client, drb, month):  # noqa: F811
    response = client.get(
        "/api/v1/stats/export.csv", query_string={"period": month, "lang": "fr"}, headers=drb
    )
    assert response.status_code == 422
    assert "lang" in response.json["error"]["fields"]
