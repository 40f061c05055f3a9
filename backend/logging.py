"""Log set-up: one format, and no phone number ever reaches a log line."""

from __future__ import annotations

import logging

from backend.residents.phone import redact_phones


class PhoneRedactingFilter(logging.Filter):
    """Masks anything shaped like a mobile number, whoever logged it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_phones(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def configure_logging(level: str) -> None:
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(level)
    for handler in root.handlers:
        if not any(isinstance(f, PhoneRedactingFilter) for f in handler.filters):
            handler.addFilter(PhoneRedactingFilter())
