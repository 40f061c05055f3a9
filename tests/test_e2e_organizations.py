"""Organisations in a real browser: a campaign admin makes a school from the menu, sees it
listed, families join with its code, and its poster downloads."""

import pytest

from tests.browser import PASSWORD, guide_shot, make_staff, new_page, sign_in

# Its servers run in other processes, on the machine's clock.
pytestmark = pytest.mark.real_clock


@pytest.fixture(scope="module")
def server(demo_server):
    return demo_server  # beside the demo's organisations


def test_a_campaign_admin_makes_a_school_and_sees_it_listed(server, browser):
    username = make_staff(server, "e2e-organizations", "campaign_admin")
    page = new_page(browser, server.base_url)
    sign_in(page, username, PASSWORD)
    page.wait_for_url("**/admin/")
    page.click("nav >> text=组织管理")
    page.wait_for_url("**/admin/organizations")
    page.click("#new-organization")
    page.fill("#organization-name", "端州区第一小学")
    page.select_option("#organization-kind", "school")
    page.select_option("#organization-district", "441202")
    page.click("#save-organization")
    page.wait_for_url("**/admin/organizations/*")
    assert "组织已创建" in page.inner_text(".flash.info")

    code = page.inner_text("#invite-code")
    for phone, nickname in (("13566661201", "陈妈妈"), ("13566661202", "王老师")):
        resident = server.sign_in(phone)
        server.call("PATCH", "/api/v1/me", {"nickname": nickname}, resident)
        joined = server.call("POST", "/api/v1/organizations/join", {"invite_code": code}, resident)
        assert joined.status == 201, joined.body
    page.reload()
    assert "王老师" in page.inner_text("#member-list")
    guide_shot(page, "organization")
    with page.expect_download() as download:
        page.click("#download-poster")
    assert download.value.suggested_filename.endswith(f"-{code}.png")

    page.click("#back-to-organizations")
    page.wait_for_url("**/admin/organizations")
    row = page.inner_text("#organizations")
    assert "端州区第一小学" in row and "学校" in row and "端州区" in row
    guide_shot(page, "organizations")
