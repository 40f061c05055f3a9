"""Configuration comes from the environment; production refuses development settings."""

import secrets

import pytest
from cryptography.fernet import Fernet

from backend.app import create_app
from backend.config import DEV_ENCRYPTION_KEY, Config, ConfigError, _weak_secret

GOOD_PRODUCTION = {
    "APP_ENV": "production",
    "SECRET_KEY": "pJ3nV8qWz-4xK1tR_b7YcL0eHs2mFgA9dUo6iN5",
    "DATABASE_URL": "postgresql+psycopg://app@db.internal/zq",
    "SMS_SENDER": "aliyun",
    "ALIYUN_SMS_ACCESS_KEY_SECRET": "q8ZrT2wLk5NvB7xJc4HdYm1sPg6e",
    "WECHAT_LOGIN": "http",
    "WECHAT_APP_SECRET": "3f9a1c7e5b2d8046af1e9c3b7d5a2e80",
    "PHONE_HMAC_KEY": "c1d4e9f27a3b8056e2f1a9c4d7b3e8f05a6c2d9e1b4f7a30",
    "ENCRYPTION_KEYS": "Xk2b9Qv7LmR4tZ8wN1cH6yJ3pF0sD5gA-eU_oIaKrBE=",
    "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
    "CAPTCHA_VERIFIER": "http",
    "CAPTCHA_VERIFY_URL": "https://captcha.example.cn/siteverify",
    "CAPTCHA_SECRET": "0x4AAAAAAAkq7Tz9WmXc3RbN5yLp2Hd",
    "CAPTCHA_REQUIRED": "true",
    "METRICS_TOKEN": "Vd7qK2mZ9xR4tB8wN1cJ6yH3pF0sL5gAeU",
}


def test_a_complete_production_environment_passes_the_checks():
    config = Config.from_env(GOOD_PRODUCTION)
    config.check()
    assert config.is_production
    assert config.database_url.startswith("postgresql+psycopg://")


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ({"SECRET_KEY": None}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"DEBUG": "1"}, "DEBUG"),
        ({"SMS_SENDER": "console"}, "console sender"),
        ({"SMS_SENDER": None}, "console sender"),
        ({"WECHAT_LOGIN": "fake"}, "fake adapter"),
        ({"PHONE_HMAC_KEY": None}, "PHONE_HMAC_KEY"),
        ({"ENCRYPTION_KEYS": None}, "ENCRYPTION_KEYS"),
        ({"METRICS_TOKEN": None}, "METRICS_TOKEN"),
        ({"ENCRYPTION_KEYS": "k," + DEV_ENCRYPTION_KEY}, "ENCRYPTION_KEYS"),
        ({"RATELIMIT_STORAGE_URI": "memory://"}, r"RATELIMIT_STORAGE_URI.*memory://"),
        ({"RATELIMIT_STORAGE_URI": None}, "RATELIMIT_STORAGE_URI"),
        ({"RATELIMIT_ENABLED": "false"}, "RATELIMIT_ENABLED"),
        ({"CAPTCHA_VERIFIER": "fake"}, "CAPTCHA_VERIFIER is the fake adapter"),
        ({"CAPTCHA_REQUIRED": "false"}, "CAPTCHA_REQUIRED"),
        ({"CAPTCHA_VERIFY_URL": "http://captcha.internal/siteverify"}, "CAPTCHA_VERIFY_URL"),
        ({"CAPTCHA_SECRET": "x"}, "CAPTCHA_SECRET"),
        ({"ALIYUN_SMS_ACCESS_KEY_SECRET": None}, "ALIYUN_SMS_ACCESS_KEY_SECRET"),
        ({"WECHAT_APP_SECRET": "changeme-changeme-1234"}, "WECHAT_APP_SECRET"),
    ],
)
def test_production_refuses_to_start_with_development_settings(change, complaint):
    environ = {**GOOD_PRODUCTION, **change}
    environ = {k: v for k, v in environ.items() if v is not None}
    with pytest.raises(ConfigError, match=complaint):
        create_app(Config.from_env(environ))


WEAK_SECRETS = [
    "x",
    "a" * 64,
    "changeme-please-changeme-please-123",
    "abababababababababababababababababab",
    "0123456789" * 4,  # ten distinct characters, but not enough entropy per character
    "my-example-secret-key-for-the-zq-carbon-service",
]


@pytest.mark.parametrize(
    "name", ["SECRET_KEY", "PHONE_HMAC_KEY", "ENCRYPTION_KEYS", "METRICS_TOKEN"]
)
@pytest.mark.parametrize("weak", WEAK_SECRETS)
def test_production_refuses_weak_secrets_naming_the_variable(name, weak):
    with pytest.raises(ConfigError, match=name):
        Config.from_env({**GOOD_PRODUCTION, name: weak}).check()


@pytest.mark.parametrize(
    "strong",
    [secrets.token_hex(16), secrets.token_urlsafe(32), Fernet.generate_key().decode()],
)
def test_generated_secrets_pass(strong):
    assert _weak_secret("SECRET_KEY", strong) is None


def test_each_encryption_key_is_checked():
    rotated = f"{Fernet.generate_key().decode()},{'k' * 44}"
    with pytest.raises(ConfigError, match="ENCRYPTION_KEYS"):
        Config.from_env({**GOOD_PRODUCTION, "ENCRYPTION_KEYS": rotated}).check()


def test_the_refusal_lists_every_problem_at_once():
    environ = {**GOOD_PRODUCTION, "SECRET_KEY": "x", "RATELIMIT_STORAGE_URI": "memory://"}
    with pytest.raises(ConfigError, match=r"SECRET_KEY.*RATELIMIT_STORAGE_URI"):
        Config.from_env(environ).check()


def test_development_keeps_memory_limits_and_the_fake_captcha():
    config = Config.from_env({})
    config.check()
    assert config.ratelimit_storage_uri == "memory://"
    assert (config.captcha_verifier, config.captcha_required) == ("fake", False)


@pytest.mark.parametrize(
    "environ",
    [
        {"SMS_DAILY_BUDGET": "0"},
        {"SMS_DAILY_BUDGET_PER_IP": "-1"},
        {"SMS_BUDGET_ALERT_PERCENTS": "80,150"},
        {"SMS_BUDGET_ALERT_PERCENTS": "eighty"},
        {"CAPTCHA_VERIFIER": "recaptcha"},
        {"RATELIMIT_STRATEGY": "sliding-window-counter"},
        {"IMPACT_MATCH_BANDS": "0.5,1,2"},  # a resident below the first band has none
        {"IMPACT_MATCH_BANDS": "0,1,1"},
        {"IMPACT_MATCH_BANDS": "0,one"},
        {"IMPACT_BASELINE_DAYS": "3"},
        {"IMPACT_BOOTSTRAP_RESAMPLES": "10"},
    ],
)
def test_malformed_limit_settings_are_refused(environ):
    with pytest.raises(ConfigError):
        Config.from_env(environ).check()


def test_development_defaults_to_sqlite_under_instance(tmp_path):
    config = Config.from_env({"INSTANCE_PATH": str(tmp_path)})
    assert config.app_env == "development"
    assert config.database_url == f"sqlite:///{tmp_path / 'zq_carbon.db'}"
    config.check()


@pytest.mark.parametrize(
    "environ",
    [{"APP_ENV": "staging"}, {"DEBUG": "maybe"}, {"OTP_TTL_SECONDS": "five"}, {"SMS_SENDER": "x"}],
)
def test_malformed_settings_are_refused(environ):
    with pytest.raises(ConfigError):
        Config.from_env(environ).check()


def test_typed_settings_are_parsed():
    config = Config.from_env({"DEBUG": "true", "OTP_TTL_SECONDS": "120"})
    assert config.debug is True
    assert config.otp_ttl_seconds == 120
