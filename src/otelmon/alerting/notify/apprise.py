"""Apprise URLs for every channel without an integration of its own (``pip install otelmon[apprise]``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, SecretStr, model_validator


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: SecretStr

    @model_validator(mode="before")
    @classmethod
    def _bare_url(cls, value: object) -> object:
        return {"url": value} if isinstance(value, str) else value
