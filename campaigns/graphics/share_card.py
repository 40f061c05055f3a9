"""The resident's share card: a green PNG with their CO2e avoided and a QR inviting friends.

Everything the caller passes is fitted inside the white panel: long nicknames are cut with
"…", the CO2e figure shrinks rather than overflow.
"""

from __future__ import annotations

import io
from decimal import ROUND_HALF_UP, Decimal

from PIL import Image, ImageDraw

from campaigns.graphics.fonts import (
    draw_centered,
    font,
    line_height,
    single_line,
    truncate,
    wrap,
)
from campaigns.graphics.poster import qr_image

# Portrait 3:4, the shape WeChat Moments shows without cropping.
WIDTH, HEIGHT = 1080, 1440
PANEL = (60, 250, WIDTH - 60, HEIGHT - 60)
PANEL_RADIUS = 36
PADDING = 56
TEXT_WIDTH = PANEL[2] - PANEL[0] - 2 * PADDING

WHITE = (255, 255, 255)
INK = (33, 37, 41)
GREY = (95, 99, 104)
GREEN = (22, 128, 61)
PALE_GREEN = (214, 240, 222)
# The background runs from the lighter green at the top to the darker at the bottom.
GRADIENT_TOP, GRADIENT_BOTTOM = (46, 160, 94), (14, 92, 52)

APP_NAME = "肇庆碳普惠"
INVITATION = "扫码加入，一起低碳生活"
ANONYMOUS = "低碳市民"
NICKNAME_SIZE = 52
FIGURE_SIZES = range(104, 39, -4)
QR_MAX = 480


def co2e_parts(grams: int) -> tuple[str, str]:
    """The figure and its unit: grams below 1 kg, else kg with one decimal ("12.3", "千克 CO₂e")."""
    if grams < 0:
        raise ValueError("CO2e avoided cannot be negative")
    if grams < 1000:
        return f"{grams}", "克 CO₂e"
    # Half-up, as people round: 12 250 g is 12.3 kg (Decimal's default, half-even, says 12.2).
    kilograms = (Decimal(grams) / 1000).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{kilograms:,}", "千克 CO₂e"


def format_co2e(grams: int) -> str:
    """CO2e avoided as one line of text, e.g. "850 克 CO₂e", "12.3 千克 CO₂e"."""
    return " ".join(co2e_parts(grams))


def _background() -> Image.Image:
    image = Image.new("RGB", (WIDTH, HEIGHT))
    draw = ImageDraw.Draw(image)
    for y in range(HEIGHT):
        share = y / (HEIGHT - 1)
        colour = tuple(
            round(top + (bottom - top) * share)
            for top, bottom in zip(GRADIENT_TOP, GRADIENT_BOTTOM, strict=True)
        )
        draw.line((0, y, WIDTH - 1, y), fill=colour)
    return image


def _draw_figure(draw: ImageDraw.ImageDraw, grams: int, top: int) -> int:
    """The CO2e figure large with its unit smaller on the same baseline; return the y below."""
    figure, unit = co2e_parts(grams)
    unit_font = font(40)
    gap = unit_font.getlength(" ")
    unit_width = unit_font.getlength(unit)
    for size in FIGURE_SIZES:
        figure_font = font(size)
        if figure_font.getlength(figure) + gap + unit_width <= TEXT_WIDTH:
            break
    else:
        figure = truncate(figure, figure_font, TEXT_WIDTH - gap - unit_width)
    figure_width = figure_font.getlength(figure)
    left = (WIDTH - (figure_width + gap + unit_width)) / 2
    baseline = top + figure_font.getmetrics()[0]
    draw.text((left, baseline), figure, font=figure_font, fill=GREEN, anchor="ls")
    draw.text((left + figure_width + gap, baseline), unit, font=unit_font, fill=GREEN, anchor="ls")
    return top + line_height(figure_font)


def render_share_card(*, nickname: str, co2e_g: int, trees: str, invite_url: str) -> bytes:
    """The share card as PNG bytes (1080 x 1440 px, RGB)."""
    image = _background()
    draw = ImageDraw.Draw(image)
    center = WIDTH / 2

    y = draw_centered(draw, [APP_NAME], font(64), center_x=center, top=80, fill=WHITE) + 4
    draw_centered(draw, ["我的低碳成绩单"], font(34), center_x=center, top=y, fill=PALE_GREEN)
    draw.rounded_rectangle(PANEL, radius=PANEL_RADIUS, fill=WHITE)

    name_font = font(NICKNAME_SIZE)
    name = truncate(single_line(nickname) or ANONYMOUS, name_font, TEXT_WIDTH)
    y = draw_centered(draw, [name], name_font, center_x=center, top=PANEL[1] + PADDING, fill=INK)
    y = draw_centered(draw, ["累计减少碳排放"], font(32), center_x=center, top=y + 20, fill=GREY)
    y = _draw_figure(draw, co2e_g, y + 8)
    trees_font = font(36)
    lines = wrap(trees, trees_font, TEXT_WIDTH, max_lines=2)
    y = draw_centered(draw, lines, trees_font, center_x=center, top=y + 4, fill=INK) + 24
    draw.line((PANEL[0] + PADDING, y, PANEL[2] - PADDING - 1, y), fill=PALE_GREEN, width=3)
    y += 28

    # The QR takes what the text left, up to QR_MAX, with the invitation right under it.
    invite_font = font(36)
    room = PANEL[3] - PADDING - y - 12 - line_height(invite_font)
    qr = qr_image(invite_url, min(room, QR_MAX))
    top = y + (room - qr.height) // 2
    image.paste(qr, ((WIDTH - qr.width) // 2, top))
    draw_centered(
        draw, [INVITATION], invite_font, center_x=center, top=top + qr.height + 12, fill=GREEN
    )

    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
