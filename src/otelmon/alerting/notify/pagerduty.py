"""PagerDuty Events API v2: trigger with ``dedup_key`` = the fingerprint; resolve on recovery."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, SecretStr


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    routing_key: SecretStr
    url: str = "https://events.pagerduty.com/v2/enqueue"
    severity: Literal["critical", "error", "warning", "info"] = "error"
