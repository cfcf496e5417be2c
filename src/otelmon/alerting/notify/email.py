"""Email through the SMTP server of the settings (``OTELMON_SMTP_*``): one target is one list of addresses."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: list[str]
