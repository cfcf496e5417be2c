"""Slack: an incoming webhook, or a bot token (``chat.postMessage``) whose repeats and recovery go to the
first message's thread. Block Kit built with ``slack_sdk``'s models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, SecretStr, model_validator


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhook_url: SecretStr | None = None
    bot_token: SecretStr | None = None
    channel: str | None = None
    api_url: str = "https://slack.com/api"

    @model_validator(mode="after")
    def _one_mode(self) -> Config:
        if (self.webhook_url is None) == (self.bot_token is None):
            raise ValueError("give either webhook_url, or bot_token with channel")
        if self.bot_token is not None and not self.channel:
            raise ValueError("bot_token needs channel")
        return self
