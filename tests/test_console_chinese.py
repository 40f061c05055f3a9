"""Chinese staff read Chinese: every console page, as every role, on the demo data.

The demo seed fills the database; each role signs in and visits every page reachable from
the navigation, following links to detail pages (a campaign, a check-in point, a resident,
a reward...), and the console's error pages. The visible text (tags, scripts and styles
stripped; placeholders, titles and alt texts kept) may hold no run of Latin letters but
the few proper names of ALLOWED. What is an identifier by nature (a staff username, a
reward code) is marked translate="no" in the template and may only be one word.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from backend.staff.models import ROLES
from tests.factories import console_post, console_sign_in

# Latin words staff read as they are, each for a reason:
ALLOWED = {
    "CO2e",  # the unit of the methodology and the DRB's reports
    "API",  # the partner and DRB interfaces are named so in their contracts
    "QR",  # 二维码 is said QR on the posters residents scan
    "ID",  # the ids staff quote to each other and to residents (#12 is shown as ID)
    "CSV",  # file formats of the exports, named on the download buttons
    "Excel",
    "PNG",
    "TOTP",  # the authenticator standard staff enrol with
    "DRB",  # 发改局 is the bureau's own short name in Chinese; DRB only in key names
    "CSAE",  # T/CSAE 235-2021: a standard's number, cited as published
    "T",
    "English",  # the language switch names the other language in that language
    "JSON",  # the methodology file's format, named where staff upload it
    "IP",  # IP 地址: the audit log's network address, said so in Chinese
    "GPS",  # GPS 轨迹: how a phone's recorded trace is said in Chinese
}
# The period codes staff type into the statistics form (2026-W48, 2026-Q4), as examples.
PERIOD_CODE = re.compile(r"^[WQ]\d{1,2}$")
LATIN = re.compile(r"[A-Za-z][A-Za-z0-9]*")
IDENTIFIER = re.compile(r"^[\w.@+:#-]+$")
# A textarea holds what staff edit (the methodology file), like the inputs' values.
SKIPPED_TAGS = {"script", "style", "template", "noscript", "textarea"}
SHOWN_ATTRIBUTES = ("placeholder", "title", "alt", "aria-label")
# Links not to follow: files, images, and pages of helpers' areas checked apart.
NOT_PAGES = re.compile(r"\.(png|jpg|svg|csv|xlsx)$|/static/|/lang/|/logout")


class VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.words: list[str] = []
        self.identifiers: list[str] = []
        self.links: list[str] = []
        self._stack: list[tuple[str, bool, bool]] = []  # tag, skipped, identifier

    VOID = {"br", "img", "input", "meta", "link", "hr", "source", "wbr", "col", "area"}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        skipped = bool(self._stack and self._stack[-1][1]) or tag in SKIPPED_TAGS
        # A key cap (<kbd>) is named by the letters printed on it.
        identifier = (
            bool(self._stack and self._stack[-1][2])
            or attrs.get("translate") == "no"
            or tag == "kbd"
        )
        if not skipped:
            for name in SHOWN_ATTRIBUTES:
                if attrs.get(name):
                    self.words.append(attrs[name])
            if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
                self.words.append(attrs["value"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag not in self.VOID:
            self._stack.append((tag, skipped, identifier))

    def handle_endtag(self, tag):
        while self._stack:
            if self._stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if self._stack and self._stack[-1][1]:
            return
        if self._stack and self._stack[-1][2]:
            self.identifiers.append(data.strip())
        else:
            self.words.append(data)


def latin_words(html: str) -> tuple[set[str], list[str]]:
    """The Latin words of the visible text outside ALLOWED, and the page's links."""
    parser = VisibleText()
    parser.feed(html)
    found = {
        w
        for text in parser.words
        for w in LATIN.findall(text)
        if w not in ALLOWED and not PERIOD_CODE.match(w)
    }
    found |= {
        f"translate=no:{t!r}"
        for t in parser.identifiers
        if t and t != "—" and not IDENTIFIER.match(t)  # — stands for none
    }
    return found, parser.links


def page_kind(path: str) -> str:
    return re.sub(r"\d+", "N", path)


def crawl(client, start: list[str], skip: re.Pattern | None = None) -> dict[str, set[str]]:
    """Visit `start` and every console page linked from them (one page of each kind)."""
    failures: dict[str, set[str]] = {}
    seen: set[str] = set()
    queue = list(start)
    while queue:
        url = queue.pop(0)
        kind = page_kind(urlsplit(url).path)
        if kind in seen:
            continue
        seen.add(kind)
        response = client.get(url)
        assert response.status_code in (200, 403, 404), (url, response.status_code)
        assert response.mimetype == "text/html", url
        words, links = latin_words(response.get_data(as_text=True))
        if words:
            failures[url] = words
        for link in links:
            path = urlsplit(link).path
            wanted = path.startswith("/admin") and not NOT_PAGES.search(path)
            if wanted and (skip is None or not skip.search(path)):
                queue.append(link)
    return failures


@pytest.fixture
def demo(app):
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output


START = ["/admin/", "/admin/password", "/admin/redemptions/verify", "/admin/no-such-page"]


def test_every_console_page_is_chinese_for_every_role(app, demo):
    failures = {}
    for role in ROLES:
        client = app.test_client()
        console_sign_in(app, client, role)
        for url, words in crawl(client, START).items():
            failures[f"{role} {url}"] = sorted(words)
    assert failures == {}, "\n".join(f"{k}: {v}" for k, v in failures.items())


def test_refused_forms_name_fields_in_chinese(app, client):
    console_sign_in(app, client, "analyst")
    response = client.get("/admin/statistics?from=2026-11&to=2026-10")
    assert "不能早于" in response.get_data(as_text=True)
    words, _links = latin_words(response.get_data(as_text=True))
    assert not ({"from", "to"} & words)


def test_console_errors_are_pages_in_the_console_frame(app, client):
    assert client.get("/admin/no-such-page").mimetype == "text/html"  # signed out: no menu
    console_sign_in(app, client, "campaign_admin")
    unknown = client.get("/admin/no-such-page")
    assert unknown.status_code == 404 and unknown.mimetype == "text/html"
    assert 'class="main"' in unknown.get_data(as_text=True)  # the navigation
    forbidden = client.get("/admin/clients")
    assert forbidden.status_code == 403 and forbidden.mimetype == "text/html"
    assert "无权" in forbidden.get_data(as_text=True)
    missing = client.get("/admin/campaigns/999999")
    assert missing.status_code == 404 and missing.mimetype == "text/html"
    assert client.get("/api/v1/no-such-thing").mimetype == "application/json"


def test_a_console_failure_is_a_page_and_an_api_failure_json(app, client, monkeypatch):
    from admin.console import pages_methodology
    from points.methodology import service as methodology

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    console_sign_in(app, client, "analyst")
    monkeypatch.setattr(pages_methodology, "render_template", broken)
    failed = client.get("/admin/methodology")
    assert failed.status_code == 500 and failed.mimetype == "text/html"
    assert "boom" not in failed.get_data(as_text=True)
    monkeypatch.setattr(methodology, "in_force", broken, raising=False)
    assert client.get("/api/v1/no-such-thing").mimetype == "application/json"


def test_console_post_refusal_lists_no_codes(app, client):
    console_sign_in(app, client, "campaign_admin")
    response = console_post(client, "/admin/rewards/new", {"title": ""}, "/admin/rewards/new")
    words, _links = latin_words(response.get_data(as_text=True))
    assert words == set()
