"""Console audit log: who, what, when (Beijing time), IP and the changed keys, newest first;
searchable by action or target and by staff username; paginated; read-only."""

import re

import pytest

from tests.factories import console_post, console_sign_in, csrf_token, make_resident


def _suspend_and_restore(client, resident_id: int) -> None:
    page = f"/admin/residents/{resident_id}"
    assert console_post(client, f"{page}/suspend", form_page=page).status_code == 302
    assert console_post(client, f"{page}/restore", form_page=page).status_code == 302


def _rows(page: str) -> list[str]:
    return re.findall(r'<tr id="audit-entry-\d+">.*?</tr>\s*</table>', page, flags=re.S)


def test_the_log_shows_who_what_when_ip_and_only_the_changed_keys(app, client):
    someone = make_resident(client, nickname="Audited")
    username = console_sign_in(app, client, "superadmin")
    _suspend_and_restore(client, someone.resident["id"])
    page = client.get(f"/admin/audit?staff={username}").get_data(as_text=True)
    rows = _rows(page)
    assert len(rows) == 2
    restore, suspend = rows  # newest first
    assert "resident.restore" in restore and "resident.suspend" in suspend
    assert f"resident #{someone.resident['id']}" in suspend
    assert username in suspend and "127.0.0.1" in suspend
    assert re.search(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d</td>", suspend)
    assert 'data-key="status"' in suspend
    assert "<code>active</code>" in suspend and "<code>suspended</code>" in suspend
    assert 'data-key="nickname"' not in suspend and 'data-key="phone_masked"' not in suspend
    assert someone.phone not in page


def test_the_log_is_searched_by_action_or_target_and_by_staff_username(app, client):
    someone = make_resident(client)
    first = console_sign_in(app, client, "superadmin")
    _suspend_and_restore(client, someone.resident["id"])
    other_client = app.test_client()
    second = console_sign_in(app, other_client, "superadmin")
    page = f"/admin/residents/{someone.resident['id']}"
    assert console_post(other_client, f"{page}/suspend", form_page=page).status_code == 302

    by_first = _rows(client.get(f"/admin/audit?staff={first}").get_data(as_text=True))
    assert len(by_first) == 2 and all(first in row for row in by_first)
    by_second = _rows(client.get(f"/admin/audit?staff={second}").get_data(as_text=True))
    assert len(by_second) == 1 and "resident.suspend" in by_second[0]

    restores = _rows(client.get("/admin/audit?q=resident.restore").get_data(as_text=True))
    assert len(restores) == 1 and first in restores[0]
    by_target = client.get(f"/admin/audit?q={someone.resident['id']}&staff={second}")
    assert len(_rows(by_target.get_data(as_text=True))) == 1
    nothing = client.get("/admin/audit?q=no.such.action").get_data(as_text=True)
    assert 'id="no-audit-entries"' in nothing


def test_the_log_is_paginated_newest_first(app, client):
    someone = make_resident(client)
    username = console_sign_in(app, client, "superadmin")
    page = f"/admin/residents/{someone.resident['id']}"
    token = csrf_token(client, page)
    for n in range(21):
        data = {"delta": 1, "reason": f"reason {n}", "csrf_token": token}
        assert client.post(f"{page}/adjust", data=data).status_code == 302
    first = client.get(f"/admin/audit?staff={username}").get_data(as_text=True)
    assert len(_rows(first)) == 20 and "reason 20" in first and "reason 0<" not in first
    next_url = re.search(r'id="next-page" href="([^"]+)"', first)[1].replace("&amp;", "&")
    second = client.get(next_url).get_data(as_text=True)
    assert len(_rows(second)) == 1 and "reason 0<" in second


def test_the_log_cannot_be_changed_from_the_console(app, client):
    console_sign_in(app, client, "superadmin")
    token = csrf_token(client, "/admin/audit")
    assert client.post("/admin/audit", data={"csrf_token": token}).status_code == 405
    assert client.delete("/admin/audit").status_code == 405
    page = client.get("/admin/audit").get_data(as_text=True)
    # Only the layout's forms (language, sign-out) post; the search form is a GET.
    assert page.count('method="post"') == 2


@pytest.mark.parametrize("role", ["campaign_admin", "reviewer", "analyst"])
def test_only_superadmin_reads_the_audit_log(app, client, role):
    console_sign_in(app, client, role)
    assert client.get("/admin/audit").status_code == 403
    assert 'href="/admin/audit"' not in client.get("/admin/").get_data(as_text=True)
