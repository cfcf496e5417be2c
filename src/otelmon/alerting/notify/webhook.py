"""A generic webhook whose body is Alertmanager's webhook format (version 4), signed when a secret is set."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, SecretStr


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: SecretStr
    secret: SecretStr | None = None
