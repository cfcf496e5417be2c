"""Settings from the environment and ``.env`` (prefix ``OTELMON_``); every field is listed in ``.env.example``."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict, SettingsError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

MIB = 1024 * 1024


class AlertRoute(BaseModel):
    """Failures whose ``platform/group`` matches ``match`` (fnmatch pattern) go to ``to`` instead."""

    match: str
    to: list[str]


def _split_addresses(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    # Compose passes unset variables as empty strings; those mean "use the default" (in .env too, as
    # Compose reads it). ``.env`` in the working directory is read outside Docker as well; the
    # environment wins over it. Other variables in it (the stack's passwords) are ignored.
    model_config = SettingsConfigDict(env_prefix="OTELMON_", extra="ignore", env_ignore_empty=True,
                                      env_file=".env", env_file_encoding="utf-8")

    # With no configuration at all the package still runs: an embedded SQLite file.
    database_url: str = "sqlite:///otelmon.db"
    db_connect_timeout_seconds: float = Field(3.0, gt=0)
    db_read_timeout_seconds: float = Field(15.0, gt=0)
    # Kept open per API process; at least the number of requests served at once, or connections are
    # opened and closed per request (the overflow beyond this is not kept).
    db_pool_size: int = Field(10, ge=1)

    # Empty means "no token required"; set it whenever the API is reachable beyond loopback.
    ingest_token: SecretStr | None = None
    # Checked on the wire and again after decompression, so a gzip bomb is a 413, not an OOM. 32 MiB: parsing
    # one takes about 190 MiB, and the API holds at most three such bodies (one parsed) in its 512 MiB
    # (benchmarks/hostile_inputs.py); the collector sends errors in batches of at most 2048 spans.
    max_body_bytes: int = Field(32 * MIB, ge=1024)
    # Parsing OTLP JSON takes ~8x its size in memory (protobuf ~6x): a lower cap keeps its peak under protobuf's.
    max_json_body_bytes: int = Field(16 * MIB, ge=1024)
    # What a 503 tells the collector to wait before retrying.
    retry_after_seconds: int = Field(5, ge=1)

    # Where people reach this API (links in alerts, the webhook body's externalURL).
    public_url: str = "http://localhost:8090"
    # Signs the action links in alerts ("mute for 24 h", "acknowledge"); unset: a random key created once
    # and kept in the database. Changing it invalidates every link already sent.
    secret_key: SecretStr | None = None
    # How long an action link in an alert works.
    action_link_days: float = Field(7.0, gt=0, le=366)
    grafana_url: str = "http://localhost:3000"
    # Grafana datasource uid of Tempo, used to build "open the trace" links.
    grafana_tempo_uid: str = "tempo"
    # The Airflow and NiFi web UIs as people reach them: the console links a failure to its task try or
    # processor there (the stack publishes both on these addresses).
    airflow_url: str = "http://localhost:8080"
    nifi_url: str = "https://localhost:8443/nifi"

    # Display time zone for emails, beside UTC (an IANA name such as Europe/Berlin).
    display_timezone: str = "UTC"

    # --- SMTP: the seed's SMTP_USER / SMTP_PASSWORD / SMTP_MAIL_FROM keep working -------------
    smtp_host: str = "localhost"
    smtp_port: int = Field(1025, ge=1, le=65535)
    # plain (Mailpit), starttls (port 587, e.g. Gmail with an app password) or tls (port 465).
    smtp_security: Literal["plain", "starttls", "tls"] | None = None
    smtp_user: str | None = Field(None, validation_alias=AliasChoices("OTELMON_SMTP_USER", "SMTP_USER"))
    smtp_password: SecretStr | None = Field(
        None, validation_alias=AliasChoices("OTELMON_SMTP_PASSWORD", "SMTP_PASSWORD")
    )
    smtp_mail_from: str = Field(
        "otelmon@localhost", validation_alias=AliasChoices("OTELMON_SMTP_MAIL_FROM", "SMTP_MAIL_FROM")
    )
    smtp_timeout_seconds: float = Field(10.0, gt=0)
    # SMTP connections the alert sender keeps open while it has work (closed after 5 s idle): a remote
    # server takes ~100 ms a message, so several send side by side.
    smtp_max_connections: int = Field(4, ge=1, le=32)

    # --- Retention -----------------------------------------------------------------------------
    # Failures and runs older than this are deleted by the API (issues, alerts and digests are kept); 0 keeps all.
    retention_days: float = Field(30, ge=0)
    # How often the API prunes (a pass also runs at start).
    retention_interval_seconds: float = Field(3600, gt=0)

    # --- Immediate alerts --------------------------------------------------------------------
    alerts_enabled: bool = True
    # Receivers (email, Slack, Teams, ...) and routes (alerting/notify_config.py); unset: the two below.
    notify_config: Path | None = None
    alert_recipients: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # JSON list, e.g. [{"match": "airflow/billing_*", "to": ["billing@example.com"]}]; first match wins.
    alert_routes: list[AlertRoute] = Field(default_factory=list)
    # Error spans of one trace arriving within this wait share one email. The collector already sends
    # a trace's error spans together unless its batch (200 ms, configs/otelcol.yaml) splits them: the
    # wait only has to bridge two consecutive batches.
    alert_group_wait_seconds: float = Field(0.3, ge=0)
    # A fingerprint alerted within this interval is not emailed again (counted instead).
    alert_repeat_interval_seconds: float = Field(3600, ge=0)
    # Failure emails per minute; beyond it one summary email per minute names what was held back.
    alert_storm_cap_per_minute: int = Field(20, ge=1)
    alert_max_attempts: int = Field(12, ge=1)
    alert_backoff_initial_seconds: float = Field(2.0, gt=0)
    alert_backoff_max_seconds: float = Field(300.0, gt=0)
    # How often the worker looks for work written by other API replicas.
    alert_poll_seconds: float = Field(1.0, gt=0)
    # How long a claimed delivery (or digest) stays with the sender that claimed it before another replica
    # may take it over; a send is cut at half of it. Unset: max(60, 4 x smtp_timeout_seconds).
    alert_lease_seconds: float | None = Field(None, ge=1)
    # A failing try the scheduler will retry (otelmon.will_retry) is held: no alert if a later try succeeds,
    # one alert naming every try if the last one fails. True: alert on every failing try instead.
    alert_every_try: bool = False
    # A held try is alerted anyway when no later try of its run has arrived this long after it (a worker
    # killed mid-retry must not swallow the alert). Longer than the pipelines' retry delays.
    alert_retry_hold_seconds: float = Field(3600.0, gt=0)

    # --- Digest ---------------------------------------------------------------------------------
    # Empty: the digest goes to alert_recipients.
    digest_recipients: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Failures that ended within this many hours and that no earlier digest reported.
    digest_window_hours: float = Field(24.0, gt=0)
    # Failures listed one by one (fewer if the email would pass 100 KB); the rest are counted and linked.
    digest_row_limit: int = Field(50, ge=0)
    # Sends of one digest before it is given up: its failures go back to the next digest, which is claimed
    # at once, so a digest the mail server will never take (say, refused for its content) blocks nothing.
    digest_max_attempts: int = Field(8, ge=1)

    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"

    @field_validator("alert_recipients", "digest_recipients", mode="before")
    @classmethod
    def _recipients(cls, value: object) -> object:
        return _split_addresses(value)

    @field_validator("log_level", mode="before")
    @classmethod
    def _log_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("public_url", "airflow_url", "nifi_url")
    @classmethod
    def _web_url(cls, value: str) -> str:
        if not re.match(r"https?://[^/\s]+", value):
            raise ValueError("expected an http:// or https:// URL such as https://otelmon.example.com")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        # Checked here so that a typo is the one-line configuration error, not a traceback at first connect.
        try:
            backend = make_url(value).get_backend_name()
        except ArgumentError:
            raise ValueError("expected a SQLAlchemy URL such as mysql+pymysql://user:password@host/db") from None
        if backend not in ("sqlite", "mysql", "mariadb"):
            raise ValueError(f"expected a mysql+pymysql:// or sqlite:/// URL, not {backend}") from None
        return value

    @field_validator("display_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @property
    def smtp_mode(self) -> str:
        if self.smtp_security:
            return self.smtp_security
        return {465: "tls", 587: "starttls"}.get(self.smtp_port, "plain")


class ConfigurationError(ValueError):
    """A setting that cannot be used; its message is one line naming the variable and what was expected."""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigurationError("; ".join(_describe(error) for error in exc.errors())) from None
    except SettingsError as exc:
        # pydantic-settings' own message names the field, not the variable; its cause says what is wrong.
        field = re.search(r'field "([^"]+)"', str(exc))
        name = _variable((field.group(1),)) if field else "settings"
        raise ConfigurationError(f"{name}: expected JSON ({exc.__cause__ or exc})") from None


# What each pydantic error type expected, in a user's words; the rest keep pydantic's message.
_EXPECTED = {
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "float_parsing": "a number",
    "bool_parsing": "true or false",
    "json_invalid": "JSON",
}
# Never echoed: the database URL carries its password.
_SECRET_FIELDS = ("password", "token", "database_url", "secret_key")


def _variable(loc: tuple) -> str:
    head, *rest = loc
    name = f"OTELMON_{str(head).upper()}" if head in Settings.model_fields else str(head)
    return name + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in rest)


def _describe(error: dict[str, Any]) -> str:
    name = _variable(error["loc"])
    ctx = error.get("ctx") or {}
    if error["type"] in _EXPECTED:
        expected = f"expected {_EXPECTED[error['type']]}"
    elif error["type"] == "literal_error":
        expected = f"expected one of {ctx['expected']}"
    elif error["type"] == "value_error":
        expected = str(ctx.get("error", error["msg"]))
    else:
        expected = error["msg"].replace("Input should be", "expected", 1).replace("Field required", "required")
    shown = error.get("input")
    if error["type"] == "missing" or any(word in name.lower() for word in _SECRET_FIELDS) or isinstance(shown, dict):
        return f"{name}: {expected}"
    return f"{name}: {expected}, got {shown!r}"
