"""What the scenarios read from the environment: who they act as, and how fast.

Identities come from a credentials file shaped like instance/demo-credentials.json (what
`flask demo seed` and loadtests/bench.py write), overridden by single variables:

- `ZQ_LOADTEST_CREDENTIALS`: that file (default: instance/demo-credentials.json if present;
  empty: none)
- `ZQ_PARTNER_KEY`, `ZQ_PARTNER_SECRET`, `ZQ_DRB_API_KEY`: override the file's
- `ZQ_LOADTEST_TOKENS`: a JSON file of residents' access tokens (`flask --app loadtests.app
  bench generate --tokens-out`): {"residents": [{"access_token", "phone"}, ...]}, or a
  plain list of tokens
- `ZQ_LOADTEST_PHONES`: comma-separated phones of existing residents, for partner events
  (the phones of the credentials and tokens files count too)

Pacing: `ZQ_LOADTEST_PACE` scales every think time (1 by default; 0 runs flat out, as the
smoke test does), `ZQ_PARTNER_EVERY` and `ZQ_DRB_EVERY` are the seconds between a
partner's batches (5) and the DRB's report pulls (30), `ZQ_PARTNER_BATCH` the events per
batch (500, the most the API takes).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO_CREDENTIALS = ROOT / "instance" / "demo-credentials.json"
# The yardsticks' paths (served by `loadtests.yardsticks:create_app()`, never by the app)
FLOOR_PATH = "/bench/floor"
LEAST_ACTION_PATH = "/bench/least-action"


def _residents(raw) -> list[dict]:
    """Entries of a tokens file as {"access_token", "phone"?} dicts."""
    if isinstance(raw, dict):
        raw = raw.get("residents") or raw.get("tokens") or []
    entries = [item if isinstance(item, dict) else {"access_token": item} for item in raw]
    return [e for e in entries if isinstance(e.get("access_token"), str) and e["access_token"]]


@dataclass
class Settings:
    partner_key: str | None = None
    partner_secret: str | None = None
    drb_api_key: str | None = None
    tokens: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    pace: float = 1.0
    partner_every: float = 5.0
    drb_every: float = 30.0
    partner_batch: int = 500

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        path = environ.get("ZQ_LOADTEST_CREDENTIALS")
        if path is None and DEMO_CREDENTIALS.exists():
            path = str(DEMO_CREDENTIALS)
        stored = json.loads(Path(path).read_text()) if path else {}
        partner = stored.get("partner") or {}
        phones = [r["phone"] for r in stored.get("residents", []) if r.get("phone")]
        phones += [p for p in environ.get("ZQ_LOADTEST_PHONES", "").split(",") if p]
        tokens_path = environ.get("ZQ_LOADTEST_TOKENS")
        residents = _residents(json.loads(Path(tokens_path).read_text())) if tokens_path else []
        phones += [r["phone"] for r in residents if r.get("phone")]
        return cls(
            partner_key=environ.get("ZQ_PARTNER_KEY") or partner.get("key"),
            partner_secret=environ.get("ZQ_PARTNER_SECRET") or partner.get("secret"),
            drb_api_key=environ.get("ZQ_DRB_API_KEY") or stored.get("drb_api_key"),
            tokens=[r["access_token"] for r in residents],
            phones=phones,
            pace=float(environ.get("ZQ_LOADTEST_PACE", "1")),
            partner_every=float(environ.get("ZQ_PARTNER_EVERY", "5")),
            drb_every=float(environ.get("ZQ_DRB_EVERY", "30")),
            partner_batch=int(environ.get("ZQ_PARTNER_BATCH", "500")),
        )
