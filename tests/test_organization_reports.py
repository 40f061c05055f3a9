"""Creation reports: per kind and organisation over whole months, for the DRB (API, CSV,
Excel) and staff (the console page), with the small-cell rules."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from openpyxl import load_workbook

from tests.factories import (
    console_sign_in,
    join_organization,
    make_household,
    make_organization,
    record,
    run_worker,
    sign_in,
    staff_headers,
    trip,
)

REPORT = "/api/v1/stats/organizations"


def drb_key(app) -> dict:
    out = app.test_cli_runner().invoke(args=["drb-key", "create", "report"]).output
    return {"Authorization": "Bearer " + next(w for w in out.split() if w.startswith("drb_"))}


def members_who_travel(client, clock, organization: dict, count: int, *, household=False):
    """`count` new members of `organization`, each with one verified bus trip an hour after
    joining (what a member did before joining would not count)."""
    people = []
    for _ in range(count):
        who = sign_in(client)
        if household:
            make_household(client, who)
        join_organization(client, who, organization["invite_code"])
        people.append(who)
    clock.shift(timedelta(hours=1))
    travelled = []
    for who in people:
        who = sign_in(client, who.phone)  # the access tokens of an hour ago have expired
        assert record(client, who, trip("bus", 6.2)).status_code == 201
        travelled.append(who)
    return travelled


def by_id(report: dict) -> dict[int, dict]:
    return {row["id"]: row for row in report["organizations"]}


def test_a_school_behind_few_members_shows_nothing_that_could_single_one_out(app, client, clock):
    staff = staff_headers(app, client, "campaign_admin")
    big = make_organization(client, staff, "school", "端州区第一小学")
    small = make_organization(client, staff, "school", "端州区第二小学")
    agency = make_organization(client, staff, "agency", "肇庆市发展和改革局")
    members_who_travel(client, clock, big, 12, household=True)
    members_who_travel(client, clock, small, 3)
    members_who_travel(client, clock, agency, 11)
    run_worker(client)

    answer = client.get(REPORT, headers=drb_key(app))
    assert answer.status_code == 200, answer.json
    report = answer.json
    rows = by_id(report)
    assert rows[small["id"]]["suppressed"] is True
    assert rows[small["id"]]["co2e_g"] is None and rows[small["id"]]["participants"] is None
    assert rows[small["id"]]["members"] == 3  # membership is no activity: it may be shown
    agency_row = rows[agency["id"]]
    assert agency_row["suppressed"] is False
    assert (agency_row["participants"], agency_row["members"]) == (11, 11)
    assert agency_row["participation_rate"] == 1.0
    assert agency_row["co2e_g"] > 0 and agency_row["trips"] == agency_row["green_trips"] == 11
    assert agency_row["green_share"] == 1.0
    assert [part["action_type"] for part in agency_row["by_type"]] == ["trip"]
    # The schools' total less the big school would be the small one: one of them is hidden.
    kinds = {row["kind"]: row for row in report["kinds"]}
    assert kinds["school"]["suppressed"] or rows[big["id"]]["suppressed"]
    assert kinds["school"]["organizations"] == 2
    # Households: only their kind's total (twelve households of one member each).
    assert all(row["kind"] != "household" for row in report["organizations"])
    assert kinds["household"]["organizations"] == 12
    assert kinds["household"]["participants"] == 12

    # A filter lists part of the same table: it never shows what the whole one hides.
    filtered = client.get(REPORT, query_string={"kind": "school"}, headers=drb_key(app)).json
    assert [row["kind"] for row in filtered["kinds"]] == ["school"]
    assert by_id(filtered) == {big["id"]: rows[big["id"]], small["id"]: rows[small["id"]]}


def test_only_whole_months_are_offered(app, client, clock):
    key = drb_key(app)
    week = client.get(REPORT, query_string={"period": "2026-W48"}, headers=key)
    assert (week.status_code, week.json["error"]["code"]) == (422, "period_not_aligned")
    unknown = client.get(REPORT, query_string={"kind": "club"}, headers=key)
    assert unknown.status_code == 422 and "kind" in unknown.json["error"]["fields"]
    year = client.get(REPORT, query_string={"period": "2026"}, headers=key)
    assert year.status_code == 200 and year.json["period"]["kind"] == "year"
    assert client.get(REPORT).status_code == 401


def test_exports_publish_what_the_api_answers_in_chinese(app, client, clock):
    staff = staff_headers(app, client, "campaign_admin")
    agency = make_organization(client, staff, "agency", "肇庆市生态环境局")
    small = make_organization(client, staff, "employer", "星湖科技")
    members_who_travel(client, clock, agency, 10)
    members_who_travel(client, clock, small, 2)
    run_worker(client)
    key = drb_key(app)

    answer = client.get(f"{REPORT}/export.csv", headers=key)
    assert answer.status_code == 200
    assert "attachment" in answer.headers["Content-Disposition"]
    text = answer.data.decode("utf-8-sig")
    notes, table = text.split("\r\n\r\n", 1)
    assert "隐私规则" in notes and "参与人数少于 10 人" in notes
    rows = list(csv.reader(io.StringIO(table)))
    header = rows[0]
    assert header[:4] == ["行类别", "编号", "名称", "组织类型"]
    named = {row[2]: dict(zip(header, row, strict=False)) for row in rows[1:]}
    assert named["肇庆市生态环境局"]["参与人数"] == "10"
    assert named["肇庆市生态环境局"]["按隐私规则隐藏"] == "否"
    assert named["星湖科技"]["参与人数"] == "" and named["星湖科技"]["按隐私规则隐藏"] == "是"
    assert named["星湖科技"]["减排量（克 CO2e）"] == ""

    workbook = client.get(f"{REPORT}/export.xlsx", query_string={"lang": "en"}, headers=key)
    assert workbook.status_code == 200
    book = load_workbook(io.BytesIO(workbook.data))
    sheet = book.worksheets[0]
    assert sheet.freeze_panes == "A2"
    header = [cell.value for cell in sheet[1]]
    assert header[:3] == ["row", "id", "name"]
    values = {
        row[2]: dict(zip(header, row, strict=False))
        for row in sheet.iter_rows(min_row=2, values_only=True)
    }
    assert values["肇庆市生态环境局"]["participants"] == 10
    assert values["星湖科技"]["co2e_g"] is None
    assert book.worksheets[1].title == "notes"


def test_the_console_page_shows_the_report_with_its_charts(app, client, clock):
    staff = staff_headers(app, client, "campaign_admin")
    agency = make_organization(client, staff, "agency", "肇庆市住房和城乡建设局")
    members_who_travel(client, clock, agency, 10)
    run_worker(client)
    console_sign_in(app, client, "analyst")
    page = client.get("/admin/reports/organizations")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "绿色创建报表" in html and "肇庆市住房和城乡建设局" in html
    assert 'id="report-kinds-chart-data"' in html and 'id="report-top-chart-data"' in html
    assert "家庭只按类型合计公布" in html
    refused = client.get("/admin/reports/organizations", query_string={"period": "2026-W48"})
    assert refused.status_code == 422 and "组织报表按整月提供" in refused.get_data(as_text=True)
    download = client.get("/admin/reports/organizations/export.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"


def test_a_report_is_worked_out_at_most_once_in_its_cache_time(app, client, clock, monkeypatch):
    monkeypatch.setitem(app.config, "ORGANIZATION_REPORT_CACHE_SECONDS", 300)
    monkeypatch.setitem(app.extensions, "organization_reports", {})
    staff = staff_headers(app, client, "campaign_admin")
    agency = make_organization(client, staff, "agency", "肇庆市交通运输局")
    people = members_who_travel(client, clock, agency, 10)
    run_worker(client)
    key = drb_key(app)
    first = client.get(REPORT, headers=key).json
    earlier = trip("walk", 1.5, 20, ended_minutes_ago=35)
    assert record(client, people[0], earlier).status_code == 201
    run_worker(client)
    again = client.get(REPORT, headers=key).json
    assert again == first  # the same report, generated_at included, however often it is read
    clock.shift(timedelta(minutes=5))
    later = client.get(REPORT, headers=key).json
    assert by_id(later)[agency["id"]]["actions"] == 11
    assert later["generated_at"] > first["generated_at"]
