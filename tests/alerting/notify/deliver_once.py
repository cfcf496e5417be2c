"""Render and send one view through one notifier, the way delivery does, on a fresh client."""

from __future__ import annotations

import asyncio
from types import ModuleType
from typing import Any

import httpx
from pydantic import BaseModel

from otelmon.alerting.notify.base import AlertView, NotifyContext, Outcome
from otelmon.alerting.notify.http import new_client
from otelmon.config import Settings


def deliver(module: ModuleType, config: BaseModel, view: AlertView, thread: str | None = None,
            timeout: float | None = None) -> tuple[Any, Outcome]:
    """(payload, outcome) of ``view`` through ``module``'s notifier; ``timeout`` shortens the client's."""

    async def run() -> tuple[Any, Outcome]:
        async with new_client() as client:
            if timeout is not None:
                client.timeout = httpx.Timeout(timeout)
            notifier = module.build(config, NotifyContext(Settings(), client), "data-team")
            payload = notifier.render(view, thread)
            return payload, await notifier.send(payload)

    return asyncio.run(run())
