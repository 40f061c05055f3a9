"""Configuration, built once from environment variables; nothing else reads os.environ.

A production profile refuses to start with any development default that would leak
secrets, codes or stack traces.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import math
import os
from collections import Counter
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

# Secrets this service makes itself (generate them: `python -c "import secrets;
# print(secrets.token_urlsafe(48))"`); production refuses weak or missing ones (operators
# scrape /metrics with METRICS_TOKEN). ENCRYPTION_KEYS is checked key by key.
SECRET_SETTINGS = ("secret_key", "phone_hmac_key", "encryption_keys", "metrics_token")
# Secrets a provider issues, checked when their adapter is chosen (shorter, but random)
PROVIDER_SECRETS = {
    "aliyun_sms_access_key_secret": ("sms_sender", "aliyun"),
    "wechat_app_secret": ("wechat_login", "http"),
    "captcha_secret": ("captcha_verifier", "http"),
}
SECRET_MIN_LENGTH = 32
PROVIDER_SECRET_MIN_LENGTH = 16
SECRET_MIN_DISTINCT = 8
SECRET_MIN_BITS_PER_CHAR = 2.75
# ... and most of its three-character pieces differ (a random string's nearly all do)
SECRET_MIN_DISTINCT_TRIGRAMS = 0.75
# Values people type while setting up: a secret containing one is a placeholder
PLACEHOLDER_WORDS = (
    "changeme",
    "change-me",
    "change_me",
    "example",
    "placeholder",
    "not-for-production",
    "notforproduction",
    "secret-key",
    "password",
)
SHARED_STORAGE_SCHEMES = (
    "redis",
    "rediss",
    "redis+unix",
    "redis+sentinel",
    "redis+cluster",
    "valkey",
    "valkeys",
    "valkey+unix",
)
RATELIMIT_STRATEGIES = ("moving-window", "fixed-window")


class ConfigError(RuntimeError):
    """The environment describes a configuration the app must not run with."""


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"not a boolean: {value!r}")


def _entropy_bits_per_char(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def _weak_secret(name: str, value: str, min_length: int = SECRET_MIN_LENGTH) -> str | None:
    """Why `value` is too weak for the secret setting `name`, or None if it will do.

    Length, distinct characters, Shannon entropy per character and repetition: a random
    secret of 32 characters or more passes (hex: ~3.8 bits a character, base64: ~4.8);
    `x`, `aaaa...`, `changeme...`, `0123456789` repeated and the development keys do not.
    """
    if value in (DEV_SECRET_KEY, DEV_PHONE_HMAC_KEY, DEV_ENCRYPTION_KEY):
        return f"{name} is a development key"
    if len(value) < min_length:
        return f"{name} is shorter than {min_length} characters"
    lowered = value.lower()
    if any(word in lowered for word in PLACEHOLDER_WORDS):
        return f"{name} looks like a placeholder"
    if (
        len(set(value)) < SECRET_MIN_DISTINCT
        or _entropy_bits_per_char(value) < SECRET_MIN_BITS_PER_CHAR
    ):
        return f"{name} is not random enough (too few distinct characters)"
    trigrams = {value[i : i + 3] for i in range(len(value) - 2)}
    if len(trigrams) < SECRET_MIN_DISTINCT_TRIGRAMS * (len(value) - 2):
        return f"{name} is not random enough (it repeats itself)"
    return None


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
    # Request bodies. Multipart bodies (photo uploads: PHOTO_MAX_BYTES and the form
    # around it) and console forms are bounded by max_content_length. A JSON body is
    # bounded by its route family's limit, refused with 413 from its Content-Length before
    # a byte is read (backend.json_bounds):
    max_content_length: int = 10 * 1024 * 1024
    # ... ordinary bodies: the largest is a campaign or reward with its 2,000-character
    # description, ~13 KB when every character is sent \uXXXX-escaped (6 bytes)
    json_body_max_bytes: int = 64 * 1024
    # ... POST /api/v1/actions: a trip with a full trace (trace_max_points = 5,000
    # points) measured 184 KB with 6 decimals, 301 KB at full double precision, 441 KB
    # pretty-printed
    action_body_max_bytes: int = 512 * 1024
    # ... signed partner batches of up to 500 events: without traces at most ~0.5 KB
    # each (64-character ids and labels, escaped), 227 KB; 500 bus trips of 30 minutes
    # with a 10-second trace each measured 4.6 MB (0.2 s to parse). Longer traces come in
    # smaller batches. Parsed only after the signature is checked: only partners can
    # make the app parse this much
    partner_body_max_bytes: int = 8 * 1024 * 1024
    # ... and parsed only when nested no deeper than this (the deepest body, a partner
    # batch of traced trips, nests 4) and with no number longer than this many characters
    # (a double needs at most 24); Python's parser recursed per level (1,500 levels: a 500)
    # and int() of a 5,000-digit number failed past Python's own limit (a 500)
    json_max_depth: int = 32
    json_max_number_chars: int = 40

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
    # Rules that protect money or identity are exact with any number of workers: codes per
    # phone are counted in the database, under the phone's lock, in the transaction that
    # sends; the rest are kept in RATELIMIT_STORAGE_URI (Redis in production)
    # Actions one resident may record: far above any real day, far below a script's
    action_limit_per_resident: str = "60 per minute;600 per day"

    # Staff sign-in: a bearer token for the staff API. Failed sign-ins slow further tries,
    # never lock an account (backend/staff/throttle.py): per username and client address,
    # the first staff_throttle_free_failures are free, then each failure makes the next try
    # wait staff_throttle_base_seconds, doubling up to staff_throttle_max_seconds; per
    # username from every address, the same after staff_throttle_username_free_failures,
    # up to the small staff_throttle_username_max_seconds; per address for every username,
    # the same after staff_throttle_address_free_failures, up to staff_throttle_max_seconds.
    # An address the user signed in from in the last staff_throttle_trust_days answers to
    # its own pair's count only. Counts are forgotten staff_throttle_forget_seconds after
    # the last failure. (Counted in the database: exact with any number of workers.)
    staff_token_ttl_seconds: int = 8 * 3600
    staff_throttle_free_failures: int = 3
    staff_throttle_base_seconds: int = 1
    staff_throttle_max_seconds: int = 900
    staff_throttle_username_free_failures: int = 10
    staff_throttle_username_max_seconds: int = 30
    staff_throttle_address_free_failures: int = 20
    staff_throttle_trust_days: int = 30
    staff_throttle_forget_seconds: int = 24 * 3600
    # A staff sign-in's second step (TOTP code, or enrolment) must follow the password
    # within this many seconds
    staff_second_step_seconds: int = 300
    # TOTP codes are accepted this many 30-second steps either side of now (clock drift)
    staff_totp_drift_steps: int = 1

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

    # Campaign rules: a multiplier of an action type's or variant's points runs from 1 to
    # this factor (staff API and console editor alike)
    campaign_max_multiplier: int = 10
    # A campaign's team bonus (paid to each enrolled member of an organisation that reaches
    # the campaign's team goal) is at most this many points
    campaign_max_team_bonus: int = 5000
    # The review page shows this many of the resident's latest actions and rejections
    review_history_actions: int = 10

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
    # A creation report (organisations, a whole period) is worked out at most this often
    # per process; 0 works it out on every request (the tests)
    organization_report_cache_seconds: int = 300
    # ... and an organisation board (a kind, period and district) read at most this often
    organization_board_cache_seconds: int = 60
    # Campaign impact (admin.impact): a participant's baseline is this many local days
    # before they took part; the same length before it is the window comparable
    # non-participants are matched on (so the baseline's chance ups and downs are not
    # matched on, then mistaken for an effect as they regress)
    impact_baseline_days: int = 28
    # ... matched on green trips per day in that window, in bands starting at these
    impact_match_bands: str = "0,0.1,0.25,0.5,1,1.5,2,3"
    # ... and the 95% intervals are percentile bootstraps over residents, this many resamples
    impact_bootstrap_resamples: int = 999

    # Evidence photos: bytes and pixels are bounded (decompression bombs); the stored copy
    # is re-encoded no longer than photo_max_edge; an empty directory means <instance>/photos
    photo_max_bytes: int = 8 * 1024 * 1024
    photo_max_pixels: int = 40_000_000
    # ... but PNG and WebP decode every pixel (a JPEG decodes at 1/2 to 1/8 scale): a
    # phone's 12 MP photo passes, a 105 KB PNG declaring 36 MP (1.2 s of CPU) does not
    photo_max_full_decode_pixels: int = 16_000_000
    # Uploads one resident may make (refused ones count: each costs a decode); a resident
    # photographs a few meals a day
    photo_limit_per_resident: str = "10 per minute;60 per day"
    # Photos decoded at once per worker process, on threads of their own (each decode a
    # CPU for ~0.1-0.5 s and up to ~200 MB), and uploads that may wait for them; more are
    # refused at once with 503 busy (each waiting upload holds one of the worker's 8
    # threads, gunicorn.conf.py), and so is one whose decode has not started in time
    photo_decode_concurrency: int = 1
    photo_decode_queue: int = 2
    photo_decode_wait_seconds: int = 5
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

    # Organisations. A household holds at most this many members (children its guardians
    # add included), and its invite code works this many days after it is made or
    # rotated; codes of the kinds staff make work until rotated
    household_max_members: int = 8
    household_invite_days: int = 7
    # Invite codes one resident may try (wrong ones count): plenty for a family, far too
    # few to guess one of 31^8
    organization_join_limit_per_resident: str = "10 per hour;30 per day"
    # An organisation's invite QR (in the app and on its poster) opens this address
    # ({code} is its current invite code)
    organization_join_url: str = "https://carbon.zhaoqing.example/join?code={code}"
    # Children under 14 (PIPL art. 31) a guardian may add to their household: each has
    # its own daily caps, so this bounds what one adult can record
    children_max_per_guardian: int = 4

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
    # Human verification before a code is texted: the client's captcha ticket is checked by
    # the adapter (fake: the ticket backend.auth.captcha.FAKE_PASS_TICKET passes; http: a
    # siteverify endpoint, as Turnstile, hCaptcha and reCAPTCHA answer). Production requires
    # it on every code request: SMS pumping comes from many addresses and numbers at once,
    # so no threshold per address or number would catch it.
    captcha_verifier: str = "fake"  # fake | http
    captcha_required: bool = False
    captcha_verify_url: str = ""
    captcha_secret: str = ""

    # GET /metrics answers only `Authorization: Bearer <metrics_token>`; unset, it is 404
    # (in development the token `flask demo seed` wrote to demo-credentials.json is used)
    metrics_token: str = ""
    # prometheus_client's multi-process mode (gunicorn workers): where each process writes
    # its counters and a scrape reads them all; prometheus_client itself reads the variable
    prometheus_multiproc_dir: str = ""

    # The SMS budget: codes texted per Asia/Shanghai day, city-wide, per number block (the
    # first sms_prefix_digits digits: a carrier's block of 10,000 numbers) and per client
    # address; counted in the database, in the transaction that sends. A log WARNING at
    # each of sms_budget_alert_percents of a budget (once per crossing).
    sms_daily_budget: int = 20000
    sms_daily_budget_per_prefix: int = 200
    sms_daily_budget_per_ip: int = 100
    sms_prefix_digits: int = 7
    sms_budget_alert_percents: str = "80,100"

    # Rate limiting storage: memory:// in development and tests (one process), redis://...
    # in production (shared by every worker and host; production refuses anything else).
    # moving-window: at most N in any period, checked and counted in one Lua script in Redis
    # (atomic: two workers cannot both take the last place; no double burst at a window's
    # edge, as fixed windows allow). Storage unreachable: the limited requests are refused
    # with 503 rate_limit_unavailable (fail closed), after at most the timeout below.
    ratelimit_storage_uri: str = "memory://"
    ratelimit_enabled: bool = True
    ratelimit_strategy: str = "moving-window"
    ratelimit_key_prefix: str = "zq"
    ratelimit_storage_timeout_seconds: int = 2

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
        if self.captcha_verifier not in ("fake", "http"):
            raise ConfigError("CAPTCHA_VERIFIER must be 'fake' or 'http'")
        if self.ratelimit_strategy not in RATELIMIT_STRATEGIES:
            raise ConfigError(
                f"RATELIMIT_STRATEGY must be one of {', '.join(RATELIMIT_STRATEGIES)}"
            )
        if not 1 <= self.sms_prefix_digits <= 11:
            raise ConfigError("SMS_PREFIX_DIGITS must be between 1 and 11")
        self.alert_percents_of(self.sms_budget_alert_percents)
        self.bands_of(self.impact_match_bands)
        if self.impact_baseline_days < 7 or self.impact_bootstrap_resamples < 99:
            raise ConfigError(
                "IMPACT_BASELINE_DAYS must be at least 7 and IMPACT_BOOTSTRAP_RESAMPLES at least 99"
            )
        for name in ("sms_daily_budget", "sms_daily_budget_per_prefix", "sms_daily_budget_per_ip"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name.upper()} must be at least 1")
        if not self.is_production:
            return
        problems = [*self._weak_secrets(), *self._limit_problems()]
        if self.debug:
            problems.append("DEBUG is on")
        if self.sms_sender == "console":
            problems.append("SMS_SENDER is the console sender, which shows codes to clients")
        if self.wechat_login == "fake":
            problems.append("WECHAT_LOGIN is the fake adapter, which trusts any code")
        if problems:
            raise ConfigError("refusing to start in production: " + "; ".join(problems))

    def _weak_secrets(self) -> list[str]:
        problems = []
        for name in SECRET_SETTINGS:
            value = getattr(self, name)
            parts = value.split(",") if name == "encryption_keys" else [value]
            for part in parts:
                problem = _weak_secret(name.upper(), part.strip())
                if problem:
                    problems.append(problem)
                    break
        for name, (adapter, chosen) in PROVIDER_SECRETS.items():
            if getattr(self, adapter) == chosen:
                value = getattr(self, name)
                problem = _weak_secret(name.upper(), value, PROVIDER_SECRET_MIN_LENGTH)
                if problem:
                    problems.append(problem)
        return problems

    def _limit_problems(self) -> list[str]:
        problems = []
        scheme = self.ratelimit_storage_uri.partition("://")[0]
        if scheme not in SHARED_STORAGE_SCHEMES:
            problems.append(
                "RATELIMIT_STORAGE_URI must be shared by every worker (redis://...), "
                f"not {scheme}://"
            )
        if not self.ratelimit_enabled:
            problems.append("RATELIMIT_ENABLED is off")
        if self.captcha_verifier == "fake":
            problems.append("CAPTCHA_VERIFIER is the fake adapter, which passes a known ticket")
        elif not self.captcha_verify_url.startswith("https://"):
            problems.append("CAPTCHA_VERIFY_URL is not an https:// address")
        if not self.captcha_required:
            problems.append("CAPTCHA_REQUIRED is off")
        return problems

    @staticmethod
    def alert_percents_of(value: str) -> tuple[int, ...]:
        """SMS_BUDGET_ALERT_PERCENTS as numbers: the shares of a budget that log a warning."""
        try:
            percents = tuple(sorted(int(p) for p in value.split(",") if p.strip()))
        except ValueError as exc:
            raise ConfigError("SMS_BUDGET_ALERT_PERCENTS must be numbers, e.g. 80,100") from exc
        if any(not 1 <= p <= 100 for p in percents):
            raise ConfigError("SMS_BUDGET_ALERT_PERCENTS must be between 1 and 100")
        return percents

    @staticmethod
    def bands_of(value: str) -> tuple[float, ...]:
        """IMPACT_MATCH_BANDS as numbers: increasing lower edges, the first 0."""
        try:
            edges = tuple(float(edge) for edge in value.split(",") if edge.strip())
        except ValueError as exc:
            raise ConfigError("IMPACT_MATCH_BANDS must be numbers, e.g. 0,0.5,1,2") from exc
        if not edges or edges[0] != 0 or any(b <= a for a, b in itertools.pairwise(edges)):
            raise ConfigError("IMPACT_MATCH_BANDS must start at 0 and increase")
        return edges

    def flask_settings(self) -> dict:
        """Every setting under its upper-case name, as Flask and its extensions read them."""
        settings = {name.upper(): value for name, value in asdict(self).items() if name != "extra"}
        # Off: Flask-Limiter would put Retry-After on every answer of a limited endpoint and
        # ask the storage again after the view; a refusal's Retry-After is set by
        # backend.ratelimit instead (the API gives Retry-After with 429 and 503 only).
        settings["RATELIMIT_HEADERS_ENABLED"] = False
        # Storage errors surface as limits.errors.StorageError (refused with a 503); an
        # unreachable Redis answers within the timeout instead of holding the worker.
        options: dict = {"wrap_exceptions": True}
        if self.ratelimit_storage_uri.partition("://")[0] in SHARED_STORAGE_SCHEMES:
            timeout = self.ratelimit_storage_timeout_seconds
            options.update(socket_timeout=timeout, socket_connect_timeout=timeout)
        settings["RATELIMIT_STORAGE_OPTIONS"] = options
        settings.update(self.extra)
        return settings
