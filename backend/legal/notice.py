"""The privacy notice in force: its version, date and texts, read from data files
(`privacy/notice.json` and `privacy/<version>.<language>.md`), never typed into code."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app

NOTICE_DIR = Path(__file__).resolve().parent / "privacy"


@dataclass(frozen=True)
class PrivacyNotice:
    version: str
    updated_at: str
    texts: dict[str, str]  # language ("zh", "en") -> text

    @classmethod
    def from_directory(cls, directory: Path) -> PrivacyNotice:
        meta = json.loads((directory / "notice.json").read_text("utf-8"))
        version = meta["version"]
        texts = {
            path.name.removeprefix(f"{version}.").removesuffix(".md"): path.read_text("utf-8")
            for path in directory.glob(f"{version}.*.md")
        }
        return cls(version=version, updated_at=meta["updated_at"], texts=texts)


def init_app(app: Flask, directory: Path = NOTICE_DIR) -> None:
    app.extensions["privacy_notice"] = PrivacyNotice.from_directory(directory)


def privacy_notice() -> PrivacyNotice:
    return current_app.extensions["privacy_notice"]


def current_privacy_version() -> str:
    return privacy_notice().version
