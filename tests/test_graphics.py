"""The check-in poster and the share card: valid PNGs of the right size, QR codes that decode
back to their payload, Chinese that really renders, and text that stays on the canvas."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from itertools import combinations

import pytest
import zxingcpp
from PIL import Image

from campaigns.graphics import fonts, poster, render_checkin_poster, render_share_card, share_card

TOKEN = "ckp1.eyJwIjo0MiwidiI6M30.Zk3q9vXb0w_2Lr8sYtA1mNcE4hJpQe7uWg6iKoDf5aBs"
INVITE = "https://zq-carbon.example.cn/invite?code=AB12CD34"
STARTS = datetime(2026, 6, 29, 1, 0, tzinfo=UTC)
ENDS = datetime(2026, 7, 5, 10, 0, tzinfo=UTC)
LONG_TITLE = "2026年肇庆市全国节能宣传周暨全国低碳日绿色出行双倍积分活动，欢迎市民踊跃参与" * 3
LONG_NICKNAME = "星湖边骑单车上班的低碳达人小林同学" * 2 + "一二三四五六"
WHITE = (255, 255, 255)


def poster_png(**overrides) -> bytes:
    values = {
        "qr_payload": TOKEN,
        "campaign_title": "全国节能宣传周",
        "point_name": "星湖绿道签到点",
        "place": "端州区星湖大道七星岩东门",
        "starts_at": STARTS,
        "ends_at": ENDS,
        "points": 20,
    } | overrides
    return render_checkin_poster(**values)


def card_png(**overrides) -> bytes:
    values = {
        "nickname": "小林",
        "co2e_g": 12_345,
        "trees": "相当于 2 棵树一年吸收的二氧化碳",
        "invite_url": INVITE,
    } | overrides
    return render_share_card(**values)


def open_png(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    image.load()
    return image


def only_qr_code(image: Image.Image) -> zxingcpp.Barcode:
    found = zxingcpp.read_barcodes(image)
    assert len(found) == 1
    assert found[0].format == zxingcpp.BarcodeFormat.QRCode
    return found[0]


def all_white(image: Image.Image, box: tuple[int, int, int, int]) -> bool:
    return image.crop(box).getextrema() == ((255, 255),) * 3


def glyph(ch: str) -> bytes:
    return bytes(fonts.font(48).getmask(ch))


# --- the font ---------------------------------------------------------------------------


def test_project_font_is_the_shipped_wenquanyi():
    assert fonts.font(40).getname()[0] == "WenQuanYi Micro Hei"
    assert fonts.font(40) is fonts.font(40)


def test_chinese_characters_render_as_distinct_glyphs_not_tofu():
    missing = glyph("\U0010fffd")  # a private-use code point: the font's "no glyph" box
    masks = {ch: glyph(ch) for ch in "肇庆碳普惠签到积分₂"}
    for ch, mask in masks.items():
        assert fonts.font(48).getmask(ch).getbbox() is not None, ch
        assert mask != missing, ch
    for (a, mask_a), (b, mask_b) in combinations(masks.items(), 2):
        assert mask_a != mask_b, (a, b)


# --- wrapping and truncation ------------------------------------------------------------


def test_wrap_breaks_chinese_per_character_within_the_width():
    title_font = fonts.font(poster.TITLE_SIZE)
    lines = fonts.wrap(LONG_TITLE[:60], title_font, poster.CONTENT_WIDTH)
    assert len(lines) > 1
    assert "".join(lines) == LONG_TITLE[:60]
    assert all(title_font.getlength(line) <= poster.CONTENT_WIDTH for line in lines)


def test_wrap_keeps_latin_words_whole():
    small = fonts.font(30)
    text = "Earth Day 世界地球日 Zhaoqing Green Commute Challenge"
    lines = fonts.wrap(text, small, small.getlength("Earth Day 世界地球日 Zhao"))
    assert lines[0] == "Earth Day 世界地球日"
    assert " ".join(lines) == text


def test_wrap_never_starts_a_line_with_closing_punctuation():
    big = fonts.font(40)
    lines = fonts.wrap("一二三四五，六七", big, big.getlength("一二三四五"))
    assert lines == ["一二三四", "五，六七"]


def test_wrap_ends_the_last_allowed_line_with_an_ellipsis():
    title_font = fonts.font(poster.TITLE_SIZE)
    lines = fonts.wrap(LONG_TITLE, title_font, poster.CONTENT_WIDTH, max_lines=3)
    assert len(lines) == 3
    assert lines[-1].endswith("…")
    assert all(title_font.getlength(line) <= poster.CONTENT_WIDTH for line in lines)


def test_a_40_character_nickname_is_truncated_to_the_card():
    assert len(LONG_NICKNAME) == 40
    name_font = fonts.font(share_card.NICKNAME_SIZE)
    shown = fonts.truncate(LONG_NICKNAME, name_font, share_card.TEXT_WIDTH)
    assert shown.endswith("…")
    assert LONG_NICKNAME.startswith(shown[:-1])
    assert name_font.getlength(shown) <= share_card.TEXT_WIDTH
    assert fonts.truncate("小林", name_font, share_card.TEXT_WIDTH) == "小林"


# --- the poster -------------------------------------------------------------------------


def test_poster_is_an_a4_rgb_png_at_150_dpi():
    image = open_png(poster_png())
    assert image.size == (1240, 1754)
    assert image.mode == "RGB"
    assert image.info["dpi"] == pytest.approx((150, 150), abs=0.1)


def test_poster_qr_decodes_to_exactly_the_token():
    assert only_qr_code(open_png(poster_png())).text == TOKEN


def test_poster_qr_is_large_and_keeps_its_quiet_zone():
    image = open_png(poster_png(campaign_title=LONG_TITLE, point_name=LONG_TITLE))
    position = only_qr_code(image).position
    left, top = position.top_left.x, position.top_left.y
    right, bottom = position.bottom_right.x, position.bottom_right.y
    # The top row of the top-left finder pattern is 7 modules of dark pixels.
    run = 0
    while image.getpixel((left + run, top + 1)) != WHITE:
        run += 1
    quiet = 4 * run // 7
    assert right - left + 2 * quiet >= 700
    # 1 px of slack where the decoder's corners fall on the symbol's edge.
    assert all_white(image, (left - quiet, top - quiet, right + quiet, top - 1))
    assert all_white(image, (left - quiet, bottom + 1, right + quiet, bottom + quiet))
    assert all_white(image, (left - quiet, top, left - 1, bottom))
    assert all_white(image, (right + 1, top, right + quiet, bottom))


def test_poster_text_stays_inside_the_margins_however_long():
    image = open_png(
        poster_png(campaign_title=LONG_TITLE, point_name=LONG_TITLE, place=LONG_TITLE, points=999)
    )
    width, height, margin = poster.WIDTH, poster.HEIGHT, poster.MARGIN
    assert all_white(image, (0, 0, width, margin))
    assert all_white(image, (0, height - margin, width, height))
    assert all_white(image, (0, 0, margin, height))
    assert all_white(image, (width - margin, 0, width, height))
    assert only_qr_code(image).text == TOKEN


def test_poster_is_the_same_bytes_for_the_same_input():
    assert poster_png() == poster_png()
    assert poster_png() != poster_png(qr_payload=TOKEN + "x")


def test_poster_dates_are_shown_in_shanghai_time():
    assert poster.format_window(STARTS, ENDS) == "2026年6月29日 09:00 — 2026年7月5日 18:00"
    # 16:30 UTC is already half past midnight of the next day in Zhaoqing.
    late = datetime(2026, 6, 28, 16, 30, tzinfo=UTC)
    assert poster.format_window(late, late) == "2026年6月29日 00:30 — 2026年6月29日 00:30"


@pytest.mark.parametrize(
    ("starts_at", "ends_at"),
    [(STARTS.replace(tzinfo=None), ENDS), (STARTS, ENDS.replace(tzinfo=None)), (ENDS, STARTS)],
    ids=["naive-start", "naive-end", "inverted"],
)
def test_poster_refuses_naive_or_inverted_windows(starts_at, ends_at):
    with pytest.raises(ValueError):
        poster_png(starts_at=starts_at, ends_at=ends_at)


def test_poster_refuses_an_empty_payload():
    with pytest.raises(ValueError):
        poster_png(qr_payload="")


# --- the share card ---------------------------------------------------------------------


def test_share_card_is_an_rgb_png_of_1080_by_1440():
    image = open_png(card_png())
    assert image.size == (1080, 1440)
    assert image.mode == "RGB"


def test_share_card_qr_decodes_to_exactly_the_invite_url():
    assert only_qr_code(open_png(card_png())).text == INVITE


def test_share_card_text_stays_inside_the_panel_however_long():
    image = open_png(
        card_png(nickname=LONG_NICKNAME, co2e_g=10**15, trees=LONG_TITLE, invite_url=INVITE * 3)
    )
    left, top, right, bottom = share_card.PANEL
    radius, padding = share_card.PANEL_RADIUS, share_card.PADDING
    assert all_white(image, (left + 1, top + radius, left + padding, bottom - radius))
    assert all_white(image, (right - padding, top + radius, right - 1, bottom - radius))
    assert all_white(image, (left + radius, top + 1, right - radius, top + padding - 8))
    assert only_qr_code(image).text == INVITE * 3


def test_share_card_is_the_same_bytes_for_the_same_input():
    assert card_png() == card_png()
    assert card_png() != card_png(nickname="小张")


@pytest.mark.parametrize(
    ("grams", "text"),
    [
        (0, "0 克 CO₂e"),
        (999, "999 克 CO₂e"),
        (1000, "1.0 千克 CO₂e"),
        (12_345, "12.3 千克 CO₂e"),
        (12_250, "12.3 千克 CO₂e"),
        (12_249, "12.2 千克 CO₂e"),
        (1_234_567, "1,234.6 千克 CO₂e"),
    ],
)
def test_co2e_is_grams_below_a_kilogram_then_kilograms_with_one_decimal(grams, text):
    assert share_card.format_co2e(grams) == text


def test_co2e_cannot_be_negative():
    with pytest.raises(ValueError):
        share_card.format_co2e(-1)
