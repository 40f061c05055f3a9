"""Console safety (issue 20, attack 5): a form sent twice acts once; a large adjustment
waits for a second staff member; security headers on every response, no inline script."""

import html
import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from admin.console import submissions
from backend.audit.models import AuditEntry
from backend.idempotency import IdempotencyRecord
from backend.staff.models import StaffUser
from points.ledger.adjustments import AdjustmentRequest, PointsAdjustment
from points.ledger.models import LedgerEntry
from tests.factories import console_post, console_sign_in, make_resident

ROOT = Path(__file__).resolve().parent.parent
_HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">')


def form_fields(client, page: str, marker: str) -> dict:
    """The hidden fields of the form on `page` whose tag holds `marker` (its action or id),
    as a browser sends them: the same one-time token each time it is sent again."""
    text = client.get(page).get_data(as_text=True)
    start = text.rindex("<form", 0, text.index(marker))
    form = text[start : text.index("</form>", start)]
    return {name: html.unescape(value) for name, value in _HIDDEN.findall(form)}


def count(db_session, model, *where) -> int:
    db_session.expire_all()
    return db_session.scalar(select(func.count()).select_from(model).where(*where))


def balance(client, who) -> int:
    return client.get("/api/v1/me/account", headers=who.headers).json["balance"]


def adjust_form(client, resident_id: int) -> tuple[str, dict]:
    page = f"/admin/residents/{resident_id}"
    return f"{page}/adjust", form_fields(client, page, f'action="{page}/adjust"')


# A form sent twice ------------------------------------------------------------------------


def test_the_adjustment_form_sent_twice_adjusts_once_and_answers_the_same(app, client, db_session):
    someone = make_resident(client)
    console_sign_in(app, client, "campaign_admin")
    rid = someone.resident["id"]
    action, tokens = adjust_form(client, rid)
    body = {**tokens, "delta": "50", "reason": "线下活动补发"}
    first = client.post(action, data=body)
    again = client.post(action, data=body)
    assert first.status_code == again.status_code == 302
    assert again.headers["Location"] == first.headers["Location"]
    assert "积分已调整" in client.get(again.headers["Location"]).get_data(as_text=True)
    assert balance(client, someone) == 50
    assert count(db_session, PointsAdjustment, PointsAdjustment.resident_id == rid) == 1

    # The same token with other values is another intent: refused, nothing changes.
    other = client.post(action, data={**body, "delta": "70"})
    assert other.status_code == 422
    assert "请刷新页面" in other.get_data(as_text=True)
    assert balance(client, someone) == 50


def test_a_refused_submission_frees_its_token_and_a_form_without_one_is_refused(app, client):
    someone = make_resident(client)
    console_sign_in(app, client, "campaign_admin")
    action, tokens = adjust_form(client, someone.resident["id"])
    assert client.post(action, data={**tokens, "delta": "5", "reason": ""}).status_code == 422
    assert client.post(action, data={**tokens, "delta": "5", "reason": "补录"}).status_code == 302
    bare = {"csrf_token": tokens["csrf_token"], "delta": "5", "reason": "补录"}
    refused = client.post(action, data=bare)
    assert refused.status_code == 400
    assert balance(client, someone) == 5


def test_a_second_submission_while_the_first_is_at_work_waits_or_takes_over_a_dead_one(
    app, client, db_session, clock, monkeypatch
):
    someone = make_resident(client)
    username = console_sign_in(app, client, "campaign_admin")
    action, tokens = adjust_form(client, someone.resident["id"])
    body = {**tokens, "delta": "9", "reason": "补录"}
    # The first submission's claim, its request still at work (or its worker killed).
    with app.test_request_context(action, method="POST", data=body):
        digest = submissions._form_digest()
    staff_id = db_session.scalar(select(StaffUser.id).where(StaffUser.username == username))
    principal = f"staff:{staff_id}"
    db_session.add(
        IdempotencyRecord(
            scope="console",
            principal=principal,
            key=tokens["submission_token"],
            request_hash=digest,
        )
    )
    db_session.commit()
    monkeypatch.setitem(app.config, "CONSOLE_SUBMISSION_WAIT_SECONDS", 0)
    busy = client.post(action, data=body)
    assert busy.status_code == 409 and "仍在处理中" in busy.get_data(as_text=True)
    assert balance(client, someone) == 0
    clock.shift(timedelta(seconds=app.config["IDEMPOTENCY_CLAIM_TIMEOUT_SECONDS"] + 1))
    assert client.post(action, data=body).status_code == 302
    assert balance(client, someone) == 9


CAMPAIGN_FORM = {
    "title": "世界环境日 绿色出行",
    "description": "乘公交，积分翻倍",
    "starts_at": "2099-06-05T08:00",
    "ends_at": "2099-06-12T08:00",
    "districts_shown": "1",
    "district_codes": ["441202"],
    "multipliers_shown": "1",
    "multiplier.trip:bus": "2",
    "join_bonus": "20",
    "checkin_points": "30",
}


def test_other_forms_sent_twice_act_once(app, client, db_session):
    """Campaigns, partners (a secret shown once) and suspension: one mechanism for all."""
    from campaigns.models import Campaign
    from points.partner.models import PartnerClient as Partner

    console_sign_in(app, client, "superadmin")
    fields = form_fields(client, "/admin/campaigns/new", 'id="campaign-form"')
    created = [client.post("/admin/campaigns/new", data={**fields, **CAMPAIGN_FORM}) for _ in "ab"]
    assert [r.status_code for r in created] == [302, 302]
    assert created[0].headers["Location"] == created[1].headers["Location"]
    assert count(db_session, Campaign, Campaign.title == CAMPAIGN_FORM["title"]) == 1

    fields = form_fields(client, "/admin/clients", 'id="partner-create"')
    body = {**fields, "name": "肇庆公交", "allowed": ["trip:bus"]}
    shown = client.post("/admin/clients/partners", data=body)
    again = client.post("/admin/clients/partners", data=body)
    assert shown.status_code == again.status_code == 200
    assert 'id="partner-secret"' in shown.get_data(as_text=True)
    # The secret is not kept to be shown again: the page says the form was done once.
    assert "只执行了一次" in again.get_data(as_text=True)
    assert 'id="partner-secret"' not in again.get_data(as_text=True)
    assert count(db_session, Partner, Partner.name == "肇庆公交") == 1

    someone = make_resident(client)
    page = f"/admin/residents/{someone.resident['id']}"
    fields = form_fields(client, page, f'action="{page}/suspend"')
    fields |= {"reason": "刷分", "confirm": "yes"}
    assert client.post(f"{page}/suspend", data=fields).status_code == 302
    assert client.post(f"{page}/suspend", data=fields).status_code == 302
    suspensions = count(db_session, AuditEntry, AuditEntry.action == "resident.suspend")
    assert suspensions == 1


def test_every_console_post_form_carries_a_one_time_token():
    templates = ROOT / "admin" / "console" / "templates" / "console"
    for path in templates.rglob("*.html"):
        # Signing in is no data change; its second steps (a code, enrolling an authenticator)
        # come before any session and are one-shot by their own rule: a code is taken once.
        if path.name in ("login.html", "login_code.html", "totp_enrol.html"):
            continue
        text = path.read_text()
        for form in re.findall(r'<form method="post".*?</form>', text, re.DOTALL):
            assert "{{ form_tokens() }}" in form, path


# A large adjustment waits for a second staff member ---------------------------------------


@pytest.fixture
def two_staff(app, client):
    """Two campaign admins, each signed in on a client of their own."""
    console_sign_in(app, client, "campaign_admin")
    other = app.test_client()
    console_sign_in(app, other, "campaign_admin")
    return client, other


def test_a_large_adjustment_pays_only_once_a_second_staff_member_approves(
    app, two_staff, db_session
):
    asker, approver = two_staff
    someone = make_resident(asker)
    rid = someone.resident["id"]
    threshold = app.config["ADJUSTMENT_SECOND_APPROVAL_POINTS"]
    page = f"/admin/residents/{rid}"

    # At the threshold: paid at once, as before.
    assert (
        console_post(
            asker, f"{page}/adjust", {"delta": threshold, "reason": "补录"}, page
        ).status_code
        == 302
    )
    assert balance(asker, someone) == threshold

    asked = console_post(asker, f"{page}/adjust", {"delta": 5000, "reason": "大额补发"}, page)
    assert asked.status_code == 302
    shown = asker.get(asked.headers["Location"]).get_data(as_text=True)
    assert "需要另一位工作人员审批" in shown
    assert balance(asker, someone) == threshold
    request = db_session.scalar(
        select(AdjustmentRequest).where(AdjustmentRequest.resident_id == rid)
    )
    assert request.status == "pending"
    assert f'id="adjustment-request-{request.id}"' in shown
    assert f'id="awaiting-second-{request.id}"' in shown  # no approve button for the asker
    listed = approver.get("/admin/adjustments").get_data(as_text=True)
    assert "待审批积分调整" in listed and f'id="approve-adjustment-{request.id}"' in listed

    # The asker may not approve their own request, whatever they post.
    approve = f"/admin/adjustments/{request.id}/approve"
    own = console_post(asker, approve, {}, page)
    assert own.status_code == 403 and "另一位工作人员" in own.get_data(as_text=True)
    assert balance(asker, someone) == threshold

    # Another staff member approves: paid once, however often the approval is sent.
    fields = form_fields(approver, page, f'action="{approve}"')
    first = approver.post(approve, data=fields)
    again = approver.post(approve, data=fields)
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"] == page
    late = console_post(approver, approve, {}, page)  # a fresh form: decided already
    assert late.status_code == 409
    assert balance(asker, someone) == threshold + 5000
    entries = count(
        db_session, LedgerEntry, LedgerEntry.resident_id == rid, LedgerEntry.kind == "adjustment"
    )
    assert entries == 2
    paid = db_session.scalar(
        select(PointsAdjustment).where(PointsAdjustment.request_id == request.id)
    )
    assert (paid.delta, paid.staff_user_id) == (5000, request.requested_by_id)
    request = db_session.get(AdjustmentRequest, request.id)
    assert request.status == "approved"
    audit = db_session.scalars(
        select(AuditEntry).where(AuditEntry.action.like("resident.adjust%")).order_by(AuditEntry.id)
    ).all()
    assert [a.action for a in audit][-2:] == [
        "resident.adjustment_requested",
        "resident.adjust_points",
    ]
    assert audit[-1].after["request_id"] == request.id
    assert audit[-1].staff_user_id == request.decided_by_id != request.requested_by_id


def test_a_rejected_or_withdrawn_request_pays_nothing(app, two_staff, db_session):
    asker, other = two_staff
    someone = make_resident(asker)
    page = f"/admin/residents/{someone.resident['id']}"
    for _ in "ab":
        assert (
            console_post(
                asker, f"{page}/adjust", {"delta": -2000, "reason": "追回"}, page
            ).status_code
            == 302
        )
    first, second = db_session.scalars(
        select(AdjustmentRequest).where(AdjustmentRequest.resident_id == someone.resident["id"])
    ).all()
    assert console_post(other, f"/admin/adjustments/{first.id}/reject", {}, page).status_code == 302
    assert (
        console_post(asker, f"/admin/adjustments/{second.id}/reject", {}, page).status_code == 302
    )
    assert (
        console_post(other, f"/admin/adjustments/{first.id}/approve", {}, page).status_code == 409
    )
    db_session.expire_all()
    statuses = {db_session.get(AdjustmentRequest, r.id).status for r in (first, second)}
    assert statuses == {"rejected"}
    assert balance(asker, someone) == 0
    assert 'id="no-adjustment-requests"' in other.get("/admin/adjustments").get_data(as_text=True)


def test_an_adjustment_above_the_maximum_is_refused(app, client):
    someone = make_resident(client)
    console_sign_in(app, client, "superadmin")
    page = f"/admin/residents/{someone.resident['id']}"
    delta = app.config["ADJUSTMENT_MAX_POINTS"] + 1
    refused = console_post(client, f"{page}/adjust", {"delta": delta, "reason": "typo"}, page)
    assert refused.status_code == 422
    assert balance(client, someone) == 0


def test_the_database_refuses_a_self_approved_request(app, client, db_session):
    """The four-eyes rule is a constraint too, not only a check in Python."""
    from sqlalchemy.exc import IntegrityError

    someone = make_resident(client)
    console_sign_in(app, client, "campaign_admin")
    page = f"/admin/residents/{someone.resident['id']}"
    console_post(client, f"{page}/adjust", {"delta": 3000, "reason": "x"}, page)
    request = db_session.scalar(select(AdjustmentRequest))
    with pytest.raises(IntegrityError), db_session.begin_nested():
        db_session.execute(
            update(AdjustmentRequest)
            .where(AdjustmentRequest.id == request.id)
            .values(status="approved", decided_by_id=request.requested_by_id)
        )


# Security headers --------------------------------------------------------------------------

HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _assert_secured(response, path: str) -> None:
    for name, value in HEADERS.items():
        assert response.headers.get(name) == value, (path, name)
    directives = response.headers["Content-Security-Policy"].split("; ")
    policy = dict(part.split(" ", 1) for part in directives)
    assert policy["frame-ancestors"] == "'none'", path
    assert policy["default-src"] == "'none'", path
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"], path
    assert "unsafe-eval" not in response.headers["Content-Security-Policy"], path
    scripts = policy["script-src"].split()
    assert scripts[0] == "'self'" and all(s.startswith("'sha256-") for s in scripts[1:]), path


def test_every_response_carries_the_security_headers(app, client):
    console_sign_in(app, client, "superadmin")
    samples = {"path": "console.css", "filename": "swagger-ui.css", "any": "csv", "code": "zh"}
    variable = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
    seen = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.rule.endswith("/logout"):
            continue
        path = variable.sub(lambda m: samples.get(m.group(1) or m.group(2), "999999"), rule.rule)
        _assert_secured(client.get(path), path)
        seen += 1
    assert seen > 40
    for path, method in (("/nowhere", "GET"), ("/api/v1/me", "GET"), ("/healthz", "POST")):
        _assert_secured(client.open(path, method=method), path)


def test_the_api_docs_allow_exactly_their_own_inline_script(client):
    docs = client.get("/api/docs")
    _assert_secured(docs, "/api/docs")
    hashes = re.findall(r"'sha256-[^']+'", docs.headers["Content-Security-Policy"])
    assert len(hashes) == 1
    assert "'sha256-" not in client.get("/api/openapi.json").headers["Content-Security-Policy"]


def test_no_template_has_inline_script_style_or_handlers():
    for folder in ("admin", "backend", "points", "campaigns"):
        for path in (ROOT / folder).rglob("templates/**/*.html"):
            text = path.read_text()
            # a data block (JSON for a chart, written by |tojson) is never run
            code = re.sub(
                r'<script type="application/json" id="[^"]+">\{\{ \w+\|tojson \}\}</script>',
                "",
                text,
            )
            assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", code), path
            assert not re.search(r"<style\b", text), path
            assert not re.search(r"\son[a-z]+\s*=", text), path
            assert not re.search(r"\sstyle\s*=", text), path
            assert "javascript:" not in text, path
