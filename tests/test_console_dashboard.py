"""The dashboard and the statistics page: the DRB figures for staff, suppressed the same way."""

import csv
import io

import openpyxl

from backend.extensions import db
from backend.residents.models import Resident
from points.actions import service as actions
from points.actions.schemas import ActionCreateSchema
from tests.factories import console_sign_in, make_resident, record, run_worker, trip


def residents_with_trips(client, count: int, district: str = "441202"):
    """Residents with a partner's verified bus trip each, and one self-declared trip."""
    for _ in range(count):
        who = make_resident(client, district_code=district)
        with client.application.test_request_context():
            resident = db.session.get(Resident, who.resident["id"])
            actions.record_action(
                resident, ActionCreateSchema().load(trip("bus")), source="partner"
            )
            db.session.commit()
    assert record(client, who, trip("walk", 2, 30, ended_minutes_ago=120)).status_code == 201
    run_worker(client)


def test_dashboard_shows_this_weeks_figures_and_the_green_travel_gauge(app, client):
    residents_with_trips(client, 10)
    console_sign_in(app, client, "analyst")
    page = client.get("/admin/").get_data(as_text=True)
    assert 'id="figures-week"' in page and 'id="green-travel-gauge"' in page
    assert ">10<" in page.replace(" ", "")  # ten participants this week, not suppressed
    assert "目标 70%" in page
    assert "端州区" in page  # top districts


def test_small_groups_are_suppressed_on_the_dashboard_too(app, client):
    residents_with_trips(client, 3)
    console_sign_in(app, client, "analyst")
    page = client.get("/admin/").get_data(as_text=True)
    assert "少于 10 位居民，按隐私规则不显示" in page  # why, where the figure would be
    assert "—" not in page.split('id="figures-today"')[1].split("</section>")[0]
    assert ">3<" not in page.replace(" ", "")


def test_statistics_filters_and_downloads(app, client):
    residents_with_trips(client, 10, district="441203")
    console_sign_in(app, client, "analyst")
    page = client.get("/admin/statistics?granularity=week&group_by=district")
    assert page.status_code == 200
    assert "鼎湖区" in page.get_data(as_text=True)
    csv_file = client.get("/admin/statistics/export.csv?group_by=district")
    assert csv_file.status_code == 200
    assert csv_file.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(csv_file.data.decode("utf-8-sig"))))
    assert [
        "统计期", "起始日", "截止日", "分组方式", "编码", "名称", "参与人数", "行为次数",
        "减排量（克 CO2e）", "基础积分", "按隐私规则隐藏", "核验",
    ] in rows  # fmt: skip
    disposition = csv_file.headers["Content-Disposition"]
    assert 'filename="zq-carbon-stats-by-district-2026-11.csv"' in disposition
    assert "filename*=UTF-8''" in disposition
    workbook = client.get("/admin/statistics/export.xlsx")
    assert workbook.status_code == 200
    assert openpyxl.load_workbook(io.BytesIO(workbook.data)).active.max_row > 5
    assert openpyxl.load_workbook(io.BytesIO(workbook.data)).active.freeze_panes == "A2"


def test_bad_filters_are_explained_not_crashed(app, client):
    console_sign_in(app, client, "analyst")
    response = client.get("/admin/statistics?from=2026-11-03&to=2026-12-03")
    assert response.status_code == 422
    assert 'id="stats-errors"' in response.get_data(as_text=True)
    assert "2026-W48" in response.get_data(as_text=True)  # what is offered instead
    assert client.get("/admin/statistics?period=2026-11-03").status_code == 200
    assert client.get("/admin/statistics?granularity=hour").status_code == 422


def test_every_staff_role_may_read_statistics(app, client):
    for role in ("analyst", "reviewer", "campaign_admin", "superadmin"):
        console_sign_in(app, client, role)
        assert client.get("/admin/statistics").status_code == 200
