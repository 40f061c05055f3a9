"""The project's CJK font (WenQuanYi Micro Hei, shipped in fonts/) and fitting text to a width.

Text is measured with the same font it is drawn with, so a wrapped or truncated line never
runs past the width it was fitted to.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from importlib import resources

from PIL import ImageDraw, ImageFont

ELLIPSIS = "…"

_FONT_FILE = resources.files("campaigns.graphics") / "fonts" / "wqy-microhei.ttc"

# Closing punctuation may not start a line (the common rule of Chinese typesetting, 避头点).
_NO_LINE_START = frozenset("，。、；：？！）》」』】〕〉”’…,.;:?!)]}%")


@lru_cache(maxsize=32)
def font(size: int) -> ImageFont.FreeTypeFont:
    """WenQuanYi Micro Hei (face 0 of the collection, the proportional one) at `size` px.

    The basic layout engine is forced: with libraqm present Pillow would pick it instead,
    and the same text could then be drawn differently on different machines.
    """
    with resources.as_file(_FONT_FILE) as path:
        return ImageFont.truetype(str(path), size, index=0, layout_engine=ImageFont.Layout.BASIC)


def single_line(text: str) -> str:
    """Collapse newlines, tabs and runs of spaces, and drop control characters."""
    printable = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C" or ch in "\t\n")
    return " ".join(printable.split())


def _is_wide(ch: str) -> bool:
    # East Asian wide and full-width characters may break anywhere; Latin words may not.
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _tokens(text: str) -> list[str]:
    """Split into break units: one per CJK character or space, one per run of other text."""
    tokens: list[str] = []
    for ch in text:
        if ch == " " or _is_wide(ch) or not tokens or tokens[-1] == " " or _is_wide(tokens[-1][-1]):
            tokens.append(ch)
        else:
            tokens[-1] += ch
    return tokens


def truncate(text: str, fnt: ImageFont.FreeTypeFont, max_width: float) -> str:
    """`text` as it is if it fits in `max_width`, else cut and ended with "…"."""
    if fnt.getlength(text) <= max_width:
        return text
    return _cut_with_ellipsis(text, fnt, max_width)


def _cut_with_ellipsis(text: str, fnt: ImageFont.FreeTypeFont, max_width: float) -> str:
    cut = len(text)
    while cut > 0 and fnt.getlength(text[:cut].rstrip() + ELLIPSIS) > max_width:
        cut -= 1
    return text[:cut].rstrip() + ELLIPSIS if cut > 0 else ""


def _break_word(word: str, fnt: ImageFont.FreeTypeFont, max_width: float) -> list[str]:
    # A word wider than the whole line (a URL, a long number) is broken per character.
    pieces = [""]
    for ch in word:
        if pieces[-1] and fnt.getlength(pieces[-1] + ch) > max_width:
            pieces.append(ch)
        else:
            pieces[-1] += ch
    return pieces


def wrap(
    text: str, fnt: ImageFont.FreeTypeFont, max_width: float, max_lines: int | None = None
) -> list[str]:
    """Lines of `text`, each at most `max_width` px wide in `fnt`.

    Chinese breaks between any two characters, Latin between words; closing punctuation is
    carried to the previous line's last character rather than starting a line. Beyond
    `max_lines` the last kept line ends with "…".
    """
    units: list[str] = []
    for token in _tokens(single_line(text)):
        units.extend(_break_word(token, fnt, max_width) if len(token) > 1 else [token])

    lines: list[str] = []
    line = ""
    for unit in units:
        if not line and unit == " ":
            continue
        if not line or fnt.getlength(line + unit) <= max_width:
            line += unit
            continue
        carried = ""
        if unit[0] in _NO_LINE_START and len(line) > 1 and _is_wide(line[-1]):
            line, carried = line[:-1], line[-1]
        lines.append(line.rstrip())
        line = "" if unit == " " else carried + unit
    if line.strip():
        lines.append(line.rstrip())

    if max_lines is not None and len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = _cut_with_ellipsis(lines[-1], fnt, max_width)
    return lines


def line_height(fnt: ImageFont.FreeTypeFont) -> int:
    """Baseline-to-baseline distance: 1.3 x the size, room for CJK ink plus Latin descenders."""
    return round(fnt.size * 1.3)


def draw_centered(
    draw: ImageDraw.ImageDraw,
    lines: list[str],
    fnt: ImageFont.FreeTypeFont,
    *,
    center_x: float,
    top: int,
    fill: tuple[int, int, int],
) -> int:
    """Draw `lines` centred on `center_x` from `top` down; return the y below the last one."""
    step = line_height(fnt)
    for number, text in enumerate(lines):
        draw.text((center_x, top + number * step), text, font=fnt, fill=fill, anchor="ma")
    return top + len(lines) * step
