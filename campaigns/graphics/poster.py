"""The printable posters: an A4 PNG with the campaign, the place, the dates and the QR of a
check-in point, or an organisation's name, place, join QR and invite code.

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


def _sheet(header: str) -> tuple[Image.Image, ImageDraw.ImageDraw, int]:
    """A white A4 sheet with the app's green header and rule: the sheet, its pen, and the
    top of what comes under the rule."""
    image = Image.new("RGB", (WIDTH, HEIGHT), WHITE)
    draw = ImageDraw.Draw(image)
    y = draw_centered(draw, [header], font(34), center_x=WIDTH / 2, top=MARGIN, fill=GREEN)
    draw.rectangle((MARGIN, y + 8, WIDTH - MARGIN - 1, y + 12), fill=GREEN)
    return image, draw, y + 40


def _block(draw, text: str, size: int, max_lines: int, top: int, fill) -> int:
    """`text` wrapped to at most `max_lines` centred lines; the top of what follows."""
    face = font(size)
    lines = wrap(text, face, CONTENT_WIDTH, max_lines)
    return draw_centered(draw, lines, face, center_x=WIDTH / 2, top=top, fill=fill)


def _qr_and_lines(
    image: Image.Image, draw, top: int, payload: str, lines: list[tuple[str, int, tuple]]
) -> None:
    """The QR in the room left from `top`, and under it `lines` (text, size, colour): the
    QR takes what the lines leave, then they are centred together there."""
    faces = [(text, font(size), fill) for text, size, fill in lines]
    below_qr = 8 + sum(line_height(face) for _text, face, _fill in faces)
    room = HEIGHT - MARGIN - top - below_qr
    qr = qr_image(payload, min(room, QR_MAX_BOX), error_correction=ERROR_CORRECT_Q)
    qr_top = top + (room - qr.height) // 2
    image.paste(qr, ((WIDTH - qr.width) // 2, qr_top))
    y = qr_top + qr.height + 8
    for text, face, fill in faces:
        shown = truncate(text, face, CONTENT_WIDTH)
        y = draw_centered(draw, [shown], face, center_x=WIDTH / 2, top=y, fill=fill)


def _png(image: Image.Image, title: str) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Title", single_line(title))
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(DPI, DPI), pnginfo=info)
    return out.getvalue()


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
    image, draw, y = _sheet("肇庆碳普惠 · 低碳打卡")
    y = _block(draw, campaign_title, TITLE_SIZE, TITLE_LINES, y, INK) + 16
    y = _block(draw, point_name, NAME_SIZE, NAME_LINES, y, INK) + 8
    y = _block(draw, f"地点：{single_line(place)}", PLACE_SIZE, PLACE_LINES, y, GREY) + 8
    when = font(34)
    y = (
        draw_centered(
            draw,
            [truncate(window, when, CONTENT_WIDTH)],
            when,
            center_x=WIDTH / 2,
            top=y,
            fill=GREY,
        )
        + 16
    )
    reward = f"扫码签到 +{points} 积分" if points else "扫码签到"
    _qr_and_lines(
        image,
        draw,
        y,
        qr_payload,
        [(reward, 60, GREEN), ("打开肇庆碳普惠 App，扫一扫签到", 30, GREY)],
    )
    return _png(image, f"{campaign_title} · {point_name}")


# An invite code printed under the QR, for people who type it: groups of four, spaced.
CODE_SIZE = 96


def spaced_code(code: str) -> str:
    """ "ABCD2345" -> "ABCD 2345": easier to read aloud and to type."""
    return " ".join(code[i : i + 4] for i in range(0, len(code), 4))


def render_organization_poster(
    *, join_url: str, name: str, kind_name: str, place: str, invite_code: str
) -> bytes:
    """The A4 poster inviting people to join an organisation (a school, a community...):
    its name, what and where it is, the QR of `join_url` and the invite code in large
    letters, as PNG bytes (1240 x 1754 px, RGB, 150 dpi)."""
    if not invite_code:
        raise ValueError("an organisation poster needs its invite code")
    image, draw, y = _sheet(f"肇庆碳普惠 · 绿色{kind_name}")
    y = _block(draw, name, TITLE_SIZE, TITLE_LINES, y, INK) + 16
    y = _block(draw, single_line(place), PLACE_SIZE, PLACE_LINES, y, GREY) + 16
    _qr_and_lines(
        image,
        draw,
        y,
        join_url,
        [
            (f"邀请码 {spaced_code(invite_code)}", CODE_SIZE, GREEN),
            ("打开肇庆碳普惠 App，扫一扫或输入邀请码加入", 30, GREY),
        ],
    )
    return _png(image, f"{name} · {kind_name}")
