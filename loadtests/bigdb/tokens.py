"""Access tokens for existing residents, so a load test can act as them without OTP.

Rows are the ones sign-in writes (`resident_session`, SHA-256 digests of the tokens);
the tokens themselves go only to the file the operator names.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

from flask import current_app

from backend.auth.models import ResidentSession
from backend.clock import utcnow
from backend.extensions import db
from backend.tokens import new_token, token_hash
from loadtests.bigdb.generate import bench_phone
from loadtests.bigdb.sink import BulkSink

SESSION_COLUMNS = (
    "resident_id",
    "method",
    "access_token_hash",
    "access_expires_at",
    "refresh_token_hash",
    "refresh_expires_at",
    "created_at",
)


def issue_tokens(resident_ids: list[int], path: Path, ttl_seconds: int | None = None) -> int:
    """One session per resident; writes {"residents": [{id, phone, access_token, ...}]}."""
    config = current_app.config
    ttl = ttl_seconds or config["ACCESS_TOKEN_TTL_SECONDS"]
    now = utcnow()
    access_expires = now + timedelta(seconds=ttl)
    refresh_expires = now + timedelta(seconds=max(ttl, config["REFRESH_TOKEN_TTL_SECONDS"]))
    rows, residents = [], []
    for resident_id in resident_ids:
        access, refresh = new_token(), new_token()
        rows.append(
            (
                resident_id,
                "otp",
                token_hash(access),
                access_expires,
                token_hash(refresh),
                refresh_expires,
                now,
            )
        )
        residents.append(
            {
                "id": resident_id,
                "phone": bench_phone(resident_id),
                "access_token": access,
                "refresh_token": refresh,
            }
        )
    sink = BulkSink(db.session.connection())
    sink.write(ResidentSession.__table__, SESSION_COLUMNS, rows)
    sink.drain()
    document = {
        "generated_at": now.isoformat(),
        "access_expires_at": access_expires.isoformat(),
        "residents": residents,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    # Bearer tokens: readable by the operator only.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        json.dump(document, out, indent=1)
    return len(rows)
