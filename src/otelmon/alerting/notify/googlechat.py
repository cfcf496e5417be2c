"""Google Chat: an incoming webhook posting a card (cardsV2)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, SecretStr


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhook_url: SecretStr
