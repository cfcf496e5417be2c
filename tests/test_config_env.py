"""Settings from .env in the working directory, one-line configuration errors, ``otelmon --version``."""

import os
import subprocess
import sys
from importlib.metadata import version

import pytest

from otelmon.config import ConfigurationError, Settings, get_settings


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in [n for n in os.environ if n.startswith("OTELMON_") or n.startswith("SMTP_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_dotenv_in_the_working_directory_is_read_and_the_environment_wins(clean_env, monkeypatch):
    (clean_env / ".env").write_text(
        "OTELMON_ALERT_RECIPIENTS=ops@example.com, data@example.com\n"
        "OTELMON_SMTP_PORT=2525\n"
        "OTELMON_SMTP_HOST=\n"  # empty, as Compose passes an unset variable: the default
        "MARIADB_ROOT_PASSWORD=the-stack-s-own\n"  # the stack's variables are no OtelMon settings
    )
    monkeypatch.setenv("OTELMON_SMTP_PORT", "2626")
    settings = Settings()
    assert settings.alert_recipients == ["ops@example.com", "data@example.com"]
    assert (settings.smtp_port, settings.smtp_host) == (2626, "localhost")


def test_a_bad_value_names_the_variable_and_what_was_expected(clean_env):
    (clean_env / ".env").write_text("OTELMON_SMTP_PORT=abc\nOTELMON_SMTP_SECURITY=ssl\n")
    with pytest.raises(ConfigurationError) as raised:
        get_settings()
    assert str(raised.value) == ("OTELMON_SMTP_PORT: expected an integer, got 'abc'; "
                                 "OTELMON_SMTP_SECURITY: expected one of 'plain', 'starttls' or 'tls', got 'ssl'")


def test_an_unknown_log_level_is_a_configuration_error_not_a_crash_later(clean_env, monkeypatch):
    monkeypatch.setenv("OTELMON_LOG_LEVEL", "loud")
    with pytest.raises(ConfigurationError, match=r"^OTELMON_LOG_LEVEL: expected one of 'critical', .*got 'loud'$"):
        get_settings()
    monkeypatch.setenv("OTELMON_LOG_LEVEL", "DEBUG")
    assert Settings().log_level == "debug"


def test_bad_json_names_the_variable(clean_env, monkeypatch):
    monkeypatch.setenv("OTELMON_ALERT_ROUTES", "[{oops")
    with pytest.raises(ConfigurationError, match=r"^OTELMON_ALERT_ROUTES: expected JSON"):
        get_settings()


def _otelmon(*args: str, cwd, env_extra: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTELMON_")} | env_extra
    return subprocess.run([sys.executable, "-m", "otelmon.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("command", [["serve", "--port", "0"], ["digest", "--dry-run"], ["migrate"],
                                     ["send-test-failure"]])
def test_every_command_reports_a_configuration_error_in_one_line_with_status_2(tmp_path, command):
    done = _otelmon(*command, cwd=tmp_path, env_extra={"OTELMON_SMTP_PORT": "abc"})
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr == "otelmon: configuration error: OTELMON_SMTP_PORT: expected an integer, got 'abc'\n"
    assert not (tmp_path / "otelmon.db").exists()


def test_version(tmp_path):
    done = _otelmon("--version", cwd=tmp_path, env_extra={})
    assert done.returncode == 0 and done.stdout.strip() == f"otelmon {version('otelmon')}"


@pytest.mark.parametrize(("url", "expected"), [
    ("postgresql://user:s3cret@db/otelmon", "expected a mysql+pymysql:// or sqlite:/// URL, not postgresql"),
    ("mysql+pymysql//user:s3cret@db", "expected a SQLAlchemy URL such as mysql+pymysql://user:password@host/db"),
])
def test_a_bad_database_url_is_one_line_that_never_shows_the_password(tmp_path, url, expected):
    done = _otelmon("migrate", cwd=tmp_path, env_extra={"OTELMON_DATABASE_URL": url})
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr == f"otelmon: configuration error: OTELMON_DATABASE_URL: {expected}\n"
    assert "s3cret" not in done.stdout + done.stderr


def test_public_url_and_notify_config(clean_env, monkeypatch):
    monkeypatch.setenv("OTELMON_PUBLIC_URL", "https://otelmon.example.com/")
    monkeypatch.setenv("OTELMON_NOTIFY_CONFIG", "conf/notify.yaml")
    settings = get_settings()
    assert (settings.public_url, str(settings.notify_config)) == ("https://otelmon.example.com", "conf/notify.yaml")
    get_settings.cache_clear()
    monkeypatch.setenv("OTELMON_PUBLIC_URL", "otelmon.example.com:8090")
    monkeypatch.setenv("OTELMON_NOTIFY_CONFIG", "")  # empty: unset
    with pytest.raises(ConfigurationError) as raised:
        get_settings()
    assert str(raised.value) == ("OTELMON_PUBLIC_URL: expected an http:// or https:// URL such as"
                                 " https://otelmon.example.com, got 'otelmon.example.com:8090'")
    monkeypatch.delenv("OTELMON_PUBLIC_URL")
    assert Settings().notify_config is None
