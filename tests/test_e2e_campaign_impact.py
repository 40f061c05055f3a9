"""The impact page (效果评估) of the demo's Energy Saving Week campaign in Chromium: reached
from the campaign page, its chart drawn by ECharts under the console's CSP when the
computation gave one, its refusal shown when it did not. The staff guide's screenshot
docs/screenshots/campaign-impact.png is taken here (`make screenshots`)."""

import pytest

from admin.demo import DEMO_CAMPAIGN
from tests.test_e2e_charts import hover, no_csp_violation, points_drawn, save, signed_in

pytestmark = pytest.mark.real_clock


@pytest.fixture(scope="module")
def server(demo_server):
    # The demo seed may have computed the impact already; if not, it is computed now.
    demo_server.flask("stats", "impact")
    return demo_server


def test_the_demo_campaign_impact_page(server, browser):
    page, problems = signed_in(server, browser, "e2e-impact-admin", "campaign_admin")
    page.goto("/admin/campaigns")
    page.click(f"a:has-text('{DEMO_CAMPAIGN}')")
    page.click("#campaign-impact")
    page.wait_for_selector("#impact-heading")
    assert "效果评估" in page.locator("#impact-heading").inner_text()
    if page.locator("#impact-trips-chart-data").count():
        assert points_drawn(page, "#impact-trips-chart") > 0
        shaded = page.evaluate(
            "echarts.getInstanceByDom(document.querySelector('#impact-trips-chart'))"
            ".getOption().series[0].markArea.data[0][0].xAxis"
        )
        assert shaded  # the campaign's first day
        hover(page, "#impact-trips-chart")
        page.locator("#impact-charts").evaluate("section => section.scrollIntoView()")
    else:  # refused (or not computed): the reason is the page
        assert page.locator("#impact-message").inner_text().strip()
    save(page, "campaign-impact")
    no_csp_violation(problems)
