"""Every user-facing message in the code has a Chinese translation."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {"_l": None, "N_": None, "gettext": None, "_": None}


def test_chinese_catalogue_covers_every_message():
    with open(ROOT / "backend/translations/zh/LC_MESSAGES/messages.po", "rb") as f:
        catalogue = read_po(f)
    translated = {m.id for m in catalogue if m.id and m.string and not m.fuzzy}
    missing = set()
    for package in ("backend", "points", "campaigns", "admin"):
        for _file, _line, message, _comments, _context in extract_from_dir(
            ROOT / package,
            method_map=[("**.py", "python"), ("**/templates/**.html", "jinja2")],
            keywords=KEYWORDS,
        ):
            if isinstance(message, str) and message not in translated:
                missing.add(message)
    assert missing == set(), "run `make messages` and translate these"
