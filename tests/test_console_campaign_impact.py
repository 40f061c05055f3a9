"""The console's impact page (效果评估) of a campaign: the latest computation's figures,
sentences, intervals and chart data for staff who may read statistics; its pending and
refused states; the link from the campaign page; no page for a draft."""

from __future__ import annotations

import json
import re
from dataclasses import replace

from tests.factories import console_post, console_sign_in, make_campaign, staff_headers
from tests.moments import beijing
from tests.test_campaign_impact import PLAN, planted_campaign

PAGE = "/admin/campaigns/{}/impact"


def chart_data(html: str, chart_id: str) -> dict:
    found = re.search(
        rf'<script type="application/json" id="{chart_id}-data">(.*?)</script>', html, re.S
    )
    assert found, chart_id
    return json.loads(found.group(1))


def test_an_analyst_reads_the_estimates_sentences_and_chart_of_a_planted_effect(app, client, clock):
    campaign, _planted = planted_campaign(app, client, clock, replace(PLAN, effect=0.8, seed=11))
    app.test_cli_runner().invoke(args=["stats", "impact", "--campaign", str(campaign["id"])])
    console_sign_in(app, client, "analyst")
    response = client.get(PAGE.format(campaign["id"]))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "效果评估" in html and "已估计" in html
    assert "2026-11-01" in html and "是：活动结束后计算一次" in html  # through, final
    assert "自身基线" in html and "与可比未参与者比较（双重差分）" in html
    assert "日均绿色出行" in html and "绿色出行占比" in html and "日均核证减排" in html
    sentence = r"参与者活动期间日均绿色出行增加 0\.\d\d 次（95% 区间 0\.\d\d–\d\.\d\d）"
    assert re.search(sentence, html)
    # the interval of the own baseline's green trips, to 0.001, and the share in points
    row = re.search(r'<tr id="impact-baseline-green-trips-per-day">(.*?)</tr>', html, re.S)
    assert re.search(r'class="impact-interval">0\.\d{3} – \d\.\d{3}<', row.group(1))
    share = re.search(r'<tr id="impact-baseline-green-share">(.*?)</tr>', html, re.S).group(1)
    assert "占出行的 %；变化以百分点计" in share and re.search(r"\d+\.\d\d%", share)
    assert "双重差分" in html and "95% 区间由按居民的 999 次自助法重抽样得出" in html
    trips = chart_data(html, "impact-trips-chart")
    assert [s["name"] for s in trips["series"]] == ["参与者", "可比未参与者"]
    assert trips["x"][0] == "2026-09-28" and trips["period"] == ["2026-10-26", "2026-11-01"]
    assert len(trips["series"][0]["data"]) == len(trips["x"])
    assert trips["labels"]["period"] == "活动期间"
    assert chart_data(html, "impact-co2e-chart")["series"][0]["data"]
    assert "console-charts.js" in html

    # an analyst's way in: the statistics page of a month the campaign ran in
    statistics = client.get("/admin/statistics?period=2026-10").get_data(as_text=True)
    listed = re.search(
        r'<section class="card" id="stats-campaign-impact">(.*?)</section>', statistics, re.S
    )
    assert f'href="/admin/campaigns/{campaign["id"]}/impact"' in listed.group(1)
    assert "数据截至 2026-11-01" in listed.group(1) and "扣除同区" in listed.group(1)
    september = client.get("/admin/statistics?period=2026-09").get_data(as_text=True)
    assert "本期的活动尚无效果评估结果" in september

    console_post(client, "/admin/lang/en", {"next": "/admin/"})
    english = client.get(PAGE.format(campaign["id"])).get_data(as_text=True)
    assert "Impact" in english and "Own baseline" in english
    assert "During the campaign, participants&#39; green trips per day rose by 0." in english

    # the campaign page links to it for a campaign admin (whose role reads statistics)
    console_sign_in(app, client, "campaign_admin")
    show = client.get(f"/admin/campaigns/{campaign['id']}").get_data(as_text=True)
    assert f'href="/admin/campaigns/{campaign["id"]}/impact"' in show


def test_pending_refused_draft_and_roles(app, client, clock):
    clock.move_to(beijing(2026, 11, 10, 9))
    staff = staff_headers(app, client, "campaign_admin")
    running = make_campaign(client, staff)
    draft = make_campaign(client, staff, publish=False)
    console_sign_in(app, client, "reviewer")  # a reviewer reads statistics too
    pending = client.get(PAGE.format(running["id"])).get_data(as_text=True)
    assert "尚未计算" in pending and "活动开始后的第二天起，每天计算一次效果" in pending
    assert "impact-trips-chart" not in pending

    app.test_cli_runner().invoke(args=["stats", "impact", "--campaign", str(running["id"])])
    refused = client.get(PAGE.format(running["id"]))
    html = refused.get_data(as_text=True)
    assert refused.status_code == 200 and "不作估计" in html
    assert "少于 10 名参与者" in html and "impact-trips-chart" not in html
    assert client.get(PAGE.format(draft["id"])).status_code == 404
    assert client.get(PAGE.format(999999)).status_code == 404

    console_sign_in(app, client, "merchant")
    forbidden = client.get(PAGE.format(running["id"]))
    assert forbidden.status_code == 403 and "无权" in forbidden.get_data(as_text=True)
