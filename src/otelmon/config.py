"""Settings from the environment (prefix ``OTELMON_``); every field is listed in ``.env.example``."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

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
    # Compose passes unset variables as empty strings; those mean "use the default".
    model_config = SettingsConfigDict(env_prefix="OTELMON_", extra="ignore", env_ignore_empty=True)

    # With no configuration at all the package still runs: an embedded SQLite file.
    database_url: str = "sqlite:///otelmon.db"
    db_connect_timeout_seconds: float = Field(3.0, gt=0)
    db_read_timeout_seconds: float = Field(15.0, gt=0)
    # Kept open per API process; at least the number of requests served at once, or connections are
    # opened and closed per request (the overflow beyond this is not kept).
    db_pool_size: int = Field(10, ge=1)

    # Empty means "no token required"; set it whenever the API is reachable beyond loopback.
    ingest_token: SecretStr | None = None
    # Checked on the wire and again after decompression, so a gzip bomb is a 413, not an OOM.
    max_body_bytes: int = Field(64 * MIB, ge=1024)
    # Parsing OTLP JSON takes ~8x its size in memory (protobuf ~6x): a lower cap keeps its peak under protobuf's.
    max_json_body_bytes: int = Field(16 * MIB, ge=1024)
    # What a 503 tells the collector to wait before retrying.
    retry_after_seconds: int = Field(5, ge=1)

    grafana_url: str = "http://localhost:3000"
    # Grafana datasource uid of Tempo, used to build "open the trace" links.
    grafana_tempo_uid: str = "tempo"

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

    # --- Immediate alerts --------------------------------------------------------------------
    alerts_enabled: bool = True
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

    # --- Digest ---------------------------------------------------------------------------------
    # Empty: the digest goes to alert_recipients.
    digest_recipients: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Failures that ended within this many hours and that no earlier digest reported.
    digest_window_hours: float = Field(24.0, gt=0)
    # Failures listed one by one (fewer if the email would pass 100 KB); the rest are counted and linked.
    digest_row_limit: int = Field(50, ge=0)

    log_level: str = "info"

    @field_validator("alert_recipients", "digest_recipients", mode="before")
    @classmethod
    def _recipients(cls, value: object) -> object:
        return _split_addresses(value)

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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
