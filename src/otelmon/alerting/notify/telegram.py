"""Telegram: the Bot API's ``sendMessage`` in HTML parse mode."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bot_token: SecretStr
    chat_id: str
    api_url: str = "https://api.telegram.org"
    message_thread_id: int | None = None

    @field_validator("chat_id", mode="before")
    @classmethod
    def _chat_id_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value
