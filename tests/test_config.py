"""Configuration comes from the environment; production refuses development settings."""

import pytest

from backend.app import create_app
from backend.config import DEV_ENCRYPTION_KEY, Config, ConfigError

GOOD_PRODUCTION = {
    "APP_ENV": "production",
    "SECRET_KEY": "s" * 48,
    "DATABASE_URL": "postgresql+psycopg://app@db.internal/zq",
    "SMS_SENDER": "aliyun",
    "WECHAT_LOGIN": "http",
    "PHONE_HMAC_KEY": "h" * 48,
    "ENCRYPTION_KEYS": "V2hhdEFGb29kS2V5Rm9yUHJvZHVjdGlvblVzZTEyMzQ=",
    "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
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
        ({"ENCRYPTION_KEYS": "k," + DEV_ENCRYPTION_KEY}, "ENCRYPTION_KEYS"),
    ],
)
def test_production_refuses_to_start_with_development_settings(change, complaint):
    environ = {**GOOD_PRODUCTION, **change}
    environ = {k: v for k, v in environ.items() if v is not None}
    with pytest.raises(ConfigError, match=complaint):
        create_app(Config.from_env(environ))


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
