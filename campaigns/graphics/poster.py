"""The printable check-in poster: an A4 PNG with the campaign, the place, the dates and the QR.

The QR encodes exactly the payload it is given (the check-in point's signed token) and is
drawn on whole pixels per module with its quiet zone, so it scans from paper.
"""

from __future__ import annotations

import io
from datetime import datetime

import qrcode
from PIL import Image, ImageDraw, PngImagePlugin
from qrcode.constants import ERROR_CORRECT_M, ERROR_CORRECT_Q

from backend.clock import LOCAL_TZ
from campaigns.graphics.fonts import draw_centered, font, line_height, single_line, truncate, wrap

# A4 portrait at 150 dpi: enough for a sharp QR from any office printer, small to send.
WIDTH, HEIGHT = 1240, 1754
DPI = 150
# About 15 mm: inside what every printer can print.
MARGIN = 90
CONTENT_WIDTH = WIDTH - 2 * MARGIN

WHITE = (255, 255, 255)
INK = (33, 37, 41)
GREY = (95, 99, 104)
GREEN = (22, 128, 61)

# Limits on each block of text, so the QR keeps more than 760 px whatever the input.
TITLE_SIZE, TITLE_LINES = 72, 3
NAME_SIZE, NAME_LINES = 48, 2
PLACE_SIZE, PLACE_LINES = 34, 2
QR_MAX_BOX = 860
QUIET_ZONE_MODULES = 4


def qr_image(
    payload: str, max_size: int, *, error_correction: int = ERROR_CORRECT_M
) -> Image.Image:
    """A black-on-white QR of `payload`, quiet zone included, at most `max_size` px wide.

    Each module is a whole number of pixels (no resampling blur), so the image is usually a
    little smaller than `max_size`.
    """
    if not payload:
        raise ValueError("a QR code needs a non-empty payload")
    code = qrcode.QRCode(error_correction=error_correction, border=QUIET_ZONE_MODULES)
    code.add_data(payload)
    code.make(fit=True)
    matrix = code.get_matrix()
    modules = len(matrix)
    module_px = max_size // modules
    if module_px < 1:
        raise ValueError(f"payload too long for a {max_size} px QR code")
    image = Image.new("1", (modules, modules))
    image.putdata([0 if dark else 1 for row in matrix for dark in row])
    return image.resize((modules * module_px,) * 2, Image.Resampling.NEAREST).convert("RGB")


def _local(moment: datetime) -> str:
    local = moment.astimezone(LOCAL_TZ)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def format_window(starts_at: datetime, ends_at: datetime) -> str:
    """The check-in window in Asia/Shanghai, e.g. "2026年6月29日 09:00 — 2026年7月5日 18:00"."""
    # A naive datetime would be read as the server's local time: refuse it, not guess.
    if starts_at.utcoffset() is None or ends_at.utcoffset() is None:
        raise ValueError("poster dates must be timezone-aware")
    if ends_at < starts_at:
        raise ValueError("a check-in window cannot end before it starts")
    return f"{_local(starts_at)} — {_local(ends_at)}"


def render_checkin_poster(
    *,
    qr_payload: str,
    campaign_title: str,
    point_name: str,
    place: str,
    starts_at: datetime,
    ends_at: datetime,
    points: int,
) -> bytes:
    """The A4 poster of one check-in point as PNG bytes (1240 x 1754 px, RGB, 150 dpi)."""
    if points < 0:
        raise ValueError("a check-in cannot take points away")
    window = format_window(starts_at, ends_at)
    image = Image.new("RGB", (WIDTH, HEIGHT), WHITE)
    draw = ImageDraw.Draw(image)
    center = WIDTH / 2

    header = font(34)
    y = draw_centered(
        draw, ["肇庆碳普惠 · 低碳打卡"], header, center_x=center, top=MARGIN, fill=GREEN
    )
    draw.rectangle((MARGIN, y + 8, WIDTH - MARGIN - 1, y + 12), fill=GREEN)
    y += 40

    title = font(TITLE_SIZE)
    lines = wrap(campaign_title, title, CONTENT_WIDTH, TITLE_LINES)
    y = draw_centered(draw, lines, title, center_x=center, top=y, fill=INK) + 16
    name = font(NAME_SIZE)
    lines = wrap(point_name, name, CONTENT_WIDTH, NAME_LINES)
    y = draw_centered(draw, lines, name, center_x=center, top=y, fill=INK) + 8
    where = font(PLACE_SIZE)
    lines = wrap(f"地点：{single_line(place)}", where, CONTENT_WIDTH, PLACE_LINES)
    y = draw_centered(draw, lines, where, center_x=center, top=y, fill=GREY) + 8
    when = font(34)
    lines = [truncate(window, when, CONTENT_WIDTH)]
    y = draw_centered(draw, lines, when, center_x=center, top=y, fill=GREY) + 16

    # The QR takes what the text left, then it and the lines under it are centred there.
    call, footer = font(60), font(30)
    below_qr = 8 + line_height(call) + line_height(footer)
    room = HEIGHT - MARGIN - y - below_qr
    qr = qr_image(qr_payload, min(room, QR_MAX_BOX), error_correction=ERROR_CORRECT_Q)
    top = y + (room - qr.height) // 2
    image.paste(qr, ((WIDTH - qr.width) // 2, top))

    reward = f"扫码签到 +{points} 积分" if points else "扫码签到"
    y = draw_centered(draw, [reward], call, center_x=center, top=top + qr.height + 8, fill=GREEN)
    draw_centered(
        draw, ["打开肇庆碳普惠 App，扫一扫签到"], footer, center_x=center, top=y, fill=GREY
    )

    info = PngImagePlugin.PngInfo()
    info.add_text("Title", single_line(f"{campaign_title} · {point_name}"))
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(DPI, DPI), pnginfo=info)
    return out.getvalue()
