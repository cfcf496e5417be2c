"""Settings from the environment (prefix ``OTELMON_``); every field is listed in ``.env.example``."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OTELMON_", extra="ignore")

    # With no configuration at all the package still runs: an embedded SQLite file.
    database_url: str = "sqlite:///otelmon.db"
    db_connect_timeout_seconds: float = Field(3.0, gt=0)
    db_read_timeout_seconds: float = Field(15.0, gt=0)
    db_pool_size: int = Field(5, ge=1)

    # Empty means "no token required"; set it whenever the API is reachable beyond loopback.
    ingest_token: SecretStr | None = None
    # Checked on the wire and again after decompression, so a gzip bomb is a 413, not an OOM.
    max_body_bytes: int = Field(64 * MIB, ge=1024)
    # What a 503 tells the collector to wait before retrying.
    retry_after_seconds: int = Field(5, ge=1)

    grafana_url: str = "http://localhost:3000"
    # Grafana datasource uid of Tempo, used to build "open the trace" links.
    grafana_tempo_uid: str = "tempo"

    log_level: str = "info"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
