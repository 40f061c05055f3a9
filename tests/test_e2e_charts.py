"""The console's charts in a real browser: ECharts (vendored, served by the console) draws
the dashboard, statistics and campaign-progress charts from the demo data, under the
console's CSP (no violation reported). The staff guide's screenshots are taken here
(`make screenshots`)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from admin.demo import DEMO_CAMPAIGN
from tests.browser import PASSWORD, guide_shot, new_page, sign_in

pytestmark = pytest.mark.real_clock


@pytest.fixture(scope="module")
def server(demo_server):
    return demo_server


def signed_in(server, browser, username: str, role: str):
    server.flask("staff", "create", username, "--role", role, "--password", PASSWORD)
    page = new_page(browser, server.base_url)
    problems: list[str] = []

    # Errors and warnings in the console (a CSP violation is one), apart from a failed
    # load, reported below with its address (a missing favicon's 404 is no problem).
    def console_message(message) -> None:
        failed_load = message.text.startswith("Failed to load resource")
        if message.type in ("error", "warning") and not failed_load:
            problems.append(message.text)

    def response_seen(response) -> None:
        if response.status >= 400 and not response.url.endswith("/favicon.ico"):
            problems.append(f"{response.status} {response.url}")

    page.on("console", console_message)
    page.on("response", response_seen)
    page.on("pageerror", lambda error: problems.append(str(error)))
    sign_in(page, username, PASSWORD)
    page.wait_for_url("**/admin/")
    return page, problems


def points_drawn(page, selector: str, hidden_too: bool = False) -> int:
    """The data points of the first series ECharts holds for the chart element (with
    `hidden_too`, the hidden ones, null, as well)."""
    page.wait_for_selector(f"{selector} canvas")
    return page.evaluate(
        """([selector, hiddenToo]) => {
            const chart = echarts.getInstanceByDom(document.querySelector(selector));
            return chart.getOption().series[0].data.filter((v) => hiddenToo || v !== null)
                .length;
        }""",
        [selector, hidden_too],
    )


def hover(page, selector: str) -> None:
    """Over the middle of a chart: the tooltip is drawn (and would be refused by the CSP
    if ECharts wrote inline styles into the document)."""
    box = page.locator(selector).bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5)
    page.wait_for_timeout(300)


def save(page, name: str) -> None:
    guide_shot(page, name)


def no_csp_violation(problems: list[str]) -> None:
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems
    assert not problems, problems


def test_dashboard_and_statistics_charts_as_an_analyst(server, browser):
    page, problems = signed_in(server, browser, "e2e-charts-analyst", "analyst")
    assert page.evaluate("typeof echarts.version") == "string"
    assert points_drawn(page, "#trend-chart") > 0
    assert page.locator("#trend-chart canvas").count() >= 1
    hover(page, "#trend-chart")
    page.locator("#trend").scroll_into_view_if_needed()
    save(page, "dashboard")

    # this month and the last: the demo's three weeks of history, whatever today is
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    last = (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    page.goto(f"/admin/statistics?from={last}&to={today:%Y-%m}&group_by=type&granularity=day")
    assert points_drawn(page, "#stats-trend-chart") > 0
    assert points_drawn(page, "#stats-district-chart") > 0
    # one point a month; the demo's few trips by district may keep a month's share hidden
    assert points_drawn(page, "#stats-green-chart", hidden_too=True) == 2
    green = page.evaluate(
        "echarts.getInstanceByDom(document.querySelector('#stats-green-chart'))"
        ".getOption().series[0].markLine.data[0].yAxis"
    )
    assert green == 70
    hover(page, "#stats-trend-chart")
    page.locator("#stats-charts").evaluate("section => section.scrollIntoView()")
    save(page, "statistics")
    no_csp_violation(problems)


def test_campaign_progress_chart(server, browser):
    page, problems = signed_in(server, browser, "e2e-charts-campaigns", "campaign_admin")
    page.goto("/admin/campaigns")
    # the demo's Energy Saving Week campaign, the one with a collective goal
    page.click(f"a:has-text('{DEMO_CAMPAIGN}')")
    page.wait_for_selector("#campaign-progress-chart-panel")
    assert points_drawn(page, "#campaign-progress-chart") > 0
    goal = page.evaluate(
        "echarts.getInstanceByDom(document.querySelector('#campaign-progress-chart'))"
        ".getOption().series[0].markLine.data[0].yAxis"
    )
    assert goal == 500  # the demo campaign's goal, in kg
    hover(page, "#campaign-progress-chart")
    page.locator("#campaign-progress-chart-panel").evaluate("panel => panel.scrollIntoView()")
    save(page, "campaign-progress")
    no_csp_violation(problems)


def test_the_creation_report_draws_its_charts_from_the_demo_organisations(server, browser):
    page, problems = signed_in(server, browser, "e2e-charts-report", "analyst")
    page.click("nav.main a:has-text('绿色创建报表')")
    page.wait_for_selector("#report-filters")
    # of the demo's three weeks, the month holding more of them, whatever today is
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    month = today if today.day > 10 else today.replace(day=1) - timedelta(days=1)
    page.goto(f"/admin/reports/organizations?period={month:%Y-%m}")
    page.wait_for_selector("#report-kinds")
    # families, schools, communities, the employer and the agency: members enough to show
    assert points_drawn(page, "#report-kinds-chart") >= 4
    assert points_drawn(page, "#report-top-chart") > 0
    assert page.locator("#report-organizations tbody tr").count() >= 6
    hover(page, "#report-kinds-chart")
    page.locator("#report-charts").evaluate("section => section.scrollIntoView()")
    save(page, "organization-report")
    with page.expect_download() as download:
        page.click("#report-export-xlsx")
    assert download.value.suggested_filename.endswith(".xlsx")
    no_csp_violation(problems)
