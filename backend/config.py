"""Configuration, built once from environment variables; nothing else reads os.environ.

A production profile refuses to start with any development default that would leak
secrets, codes or stack traces.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

ENVIRONMENTS = ("development", "test", "production")

DEV_SECRET_KEY = "dev-secret-key-not-for-production"  # noqa: S105 - refused in production
DEV_PHONE_HMAC_KEY = "dev-phone-hmac-key-not-for-production"
# A valid Fernet key, derived so that a development database stays readable across runs.
DEV_ENCRYPTION_KEY = base64.urlsafe_b64encode(
    hashlib.sha256(b"zq-carbon development encryption key").digest()
).decode()

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """The environment describes a configuration the app must not run with."""


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"not a boolean: {value!r}")


def _int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {value!r}") from exc


@dataclass(frozen=True)
class Config:
    """Every setting the app reads; field names map to upper-case env variables."""

    app_env: str = "development"
    debug: bool = False
    secret_key: str = DEV_SECRET_KEY
    database_url: str = ""
    instance_path: str = str(PROJECT_ROOT / "instance")
    log_level: str = "INFO"
    trusted_proxy_count: int = 0
    max_content_length: int = 10 * 1024 * 1024

    # Residents' personal data
    phone_hmac_key: str = DEV_PHONE_HMAC_KEY
    # Fernet keys for phone numbers and partner secrets: the first encrypts, all decrypt.
    encryption_keys: str = DEV_ENCRYPTION_KEY

    # Tokens
    access_token_ttl_seconds: int = 2 * 3600
    refresh_token_ttl_seconds: int = 30 * 24 * 3600

    # One-time codes
    otp_ttl_seconds: int = 300
    otp_max_attempts: int = 5
    otp_limit_per_phone: str = "1 per minute;5 per hour;10 per day"
    otp_limit_per_ip: str = "30 per hour"
    login_limit_per_ip: str = "60 per hour"
    # Actions one resident may record: far above any real day, far below a script's
    action_limit_per_resident: str = "60 per minute;600 per day"

    # Staff sign-in: a bearer token for the staff API; accounts lock after repeated failures
    staff_token_ttl_seconds: int = 8 * 3600
    staff_max_failed_logins: int = 5
    staff_lockout_seconds: int = 900
    staff_login_limit_per_ip: str = "30 per hour"

    # Actions: how far back a resident may record, and how much clock skew is tolerated
    action_max_age_days: int = 7
    action_clock_skew_seconds: int = 300

    # A resident's trips may overlap in time by at most this much (clocks and rounding)
    trip_overlap_tolerance_seconds: int = 120
    # A trip's GPS trace: at most this many points per body (the methodology's trace rules
    # bound it further)
    trace_max_points: int = 5000

    # Retention: evidence photos and one-time code records are erased after this many days
    photo_retention_days: int = 180
    # A trip's GPS points are kept this long for review and appeal, then erased (its
    # derived figures stay with the action)
    trace_retention_days: int = 30
    otp_retention_days: int = 30

    # Deleted accounts: a keyed hash of the phone / WeChat identity is kept while the limits
    # it protects last (the caps of days still open to recording, a limited reward's
    # validity, a running campaign's join bonus), never longer than tombstone_max_days; a
    # one-time bonus (a badge's points) is protected for tombstone_bonus_days
    tombstone_max_days: int = 365
    tombstone_bonus_days: int = 180

    # Points older than this many days expire (oldest first); 0 turns expiry off
    points_expiry_days: int = 0

    # An Idempotency-Key claimed by a request that never answered (its worker was killed)
    # is taken over by a retry after this long; keep it above the longest request
    idempotency_claim_timeout_seconds: int = 60

    # Completed Idempotency-Key records are kept this long, then the worker deletes them
    idempotency_retention_hours: int = 48

    # A console form sent again while its first submission is still at work waits this
    # long for the first one's answer (and shows it) before saying it is still at work
    console_submission_wait_seconds: int = 5

    # Staff adjustments of a resident's points: one of more than this many points (either
    # way) waits for a second staff member's approval; none may exceed the maximum
    adjustment_second_approval_points: int = 1000
    adjustment_max_points: int = 100_000

    # The worker: outbox rows applied per transaction, and how long it waits after applying
    # all there was (longer gathers bigger batches, less work per approval; shorter shows
    # the derived figures sooner)
    worker_batch_size: int = 200
    worker_idle_ms: int = 200

    # Partner feeds: signed batches older or newer than this are refused
    partner_signature_window_seconds: int = 300
    # ... and are recorded this many events per transaction: a fault keeps the chunks
    # before it, and on SQLite residents' writes wait at most one chunk
    partner_events_per_transaction: int = 100
    # A link code a resident enters in a partner's app is confirmable this long
    partner_link_code_ttl_seconds: int = 600

    # DRB statistics: a cell behind fewer distinct residents than this is suppressed
    stats_min_residents: int = 10

    # Evidence photos: bytes and pixels are bounded (decompression bombs); the stored copy
    # is re-encoded no longer than photo_max_edge; an empty directory means <instance>/photos
    photo_max_bytes: int = 8 * 1024 * 1024
    photo_max_pixels: int = 40_000_000
    photo_max_edge: int = 2048
    photo_storage_dir: str = ""

    # Evidence photos' reuse: a photo within this many bits (64-bit pHash) of an earlier
    # photo, or of a light crop of it, in any of its 8 flips and turns, is flagged
    photo_reuse_max_distance: int = 10
    # ... candidates are found by 16-bit bands differing in at most this many bits
    photo_reuse_band_probe_bits: int = 1

    # QR check-ins: the device must be within the point's radius; the fix's own accuracy
    # is credited up to checkin_accuracy_credit_max_m, and a fix less precise than
    # checkin_max_accuracy_m is refused. Staff set radii within the bounds below.
    checkin_default_radius_m: int = 200
    checkin_min_radius_m: int = 20
    checkin_max_radius_m: int = 2000
    checkin_accuracy_credit_max_m: int = 100
    checkin_max_accuracy_m: int = 500
    # An event screen's rotating QR changes every this many seconds; the code on screen
    # and the one before it are accepted (so a code is good for one to two steps)
    checkin_rotating_step_seconds: int = 60

    # Share cards invite friends to this address ({code} is the inviter's code)
    invite_url: str = "https://carbon.zhaoqing.example/invite?from={code}"

    # Adapters
    sms_sender: str = "console"  # console | aliyun
    aliyun_sms_access_key_id: str = ""
    aliyun_sms_access_key_secret: str = ""
    aliyun_sms_sign_name: str = ""
    aliyun_sms_template_code: str = ""
    aliyun_sms_endpoint: str = "https://dysmsapi.aliyuncs.com/"
    wechat_login: str = "fake"  # fake | http
    wechat_app_id: str = ""
    wechat_app_secret: str = ""
    wechat_api_base: str = "https://api.weixin.qq.com"

    # Rate limiting storage: memory:// in development, redis://... in production
    ratelimit_storage_uri: str = "memory://"
    ratelimit_enabled: bool = True

    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Config:
        """Read the settings from `environ` (the process environment by default)."""
        environ = os.environ if environ is None else environ
        values: dict = {}
        for name, spec in cls.__dataclass_fields__.items():
            if name == "extra":
                continue
            raw = environ.get(name.upper())
            if raw is None:
                continue
            if spec.type == "bool":
                values[name] = _bool(raw)
            elif spec.type == "int":
                values[name] = _int(name.upper(), raw)
            else:
                values[name] = raw
        config = cls(**values)
        if not config.database_url:
            sqlite_path = Path(config.instance_path) / "zq_carbon.db"
            config = config.replace(database_url=f"sqlite:///{sqlite_path}")
        return config

    def replace(self, **changes) -> Config:
        return type(self)(**{**asdict(self), **changes})

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    def check(self) -> None:
        """Refuse settings that must never reach a running server."""
        if self.app_env not in ENVIRONMENTS:
            raise ConfigError(f"APP_ENV must be one of {', '.join(ENVIRONMENTS)}")
        if self.sms_sender not in ("console", "aliyun"):
            raise ConfigError("SMS_SENDER must be 'console' or 'aliyun'")
        if self.wechat_login not in ("fake", "http"):
            raise ConfigError("WECHAT_LOGIN must be 'fake' or 'http'")
        if not 0 < self.adjustment_second_approval_points <= self.adjustment_max_points:
            raise ConfigError(
                "ADJUSTMENT_SECOND_APPROVAL_POINTS must be positive and at most "
                "ADJUSTMENT_MAX_POINTS"
            )
        if not 30 <= self.checkin_rotating_step_seconds <= 120:
            raise ConfigError("CHECKIN_ROTATING_STEP_SECONDS must be between 30 and 120")
        if not self.is_production:
            return
        problems = []
        if self.secret_key == DEV_SECRET_KEY or len(self.secret_key) < 32:
            problems.append("SECRET_KEY is the development key or shorter than 32 characters")
        if self.debug:
            problems.append("DEBUG is on")
        if self.sms_sender == "console":
            problems.append("SMS_SENDER is the console sender, which shows codes to clients")
        if self.wechat_login == "fake":
            problems.append("WECHAT_LOGIN is the fake adapter, which trusts any code")
        if self.phone_hmac_key == DEV_PHONE_HMAC_KEY:
            problems.append("PHONE_HMAC_KEY is the development key")
        if DEV_ENCRYPTION_KEY in self.encryption_keys.split(","):
            problems.append("ENCRYPTION_KEYS holds the development key")
        if problems:
            raise ConfigError("refusing to start in production: " + "; ".join(problems))

    def flask_settings(self) -> dict:
        """Every setting under its upper-case name, as Flask and its extensions read them."""
        settings = {name.upper(): value for name, value in asdict(self).items() if name != "extra"}
        settings["RATELIMIT_HEADERS_ENABLED"] = True
        settings.update(self.extra)
        return settings
