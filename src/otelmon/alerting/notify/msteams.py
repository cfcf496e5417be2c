"""Microsoft Teams: a Workflows (Power Automate) webhook that posts an Adaptive Card."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, SecretStr


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhook_url: SecretStr
