"""A test message through every integration of one receiver (``otelmon notify test``,
``POST /api/v1/receivers/{name}/test``): no alert row, no throttling, every result reported."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Literal

from otelmon.alerting.notifiers import Notifiers
from otelmon.alerting.notify.base import Delivered, PermanentFailure, RetryLater
from otelmon.alerting.routing import Target
from otelmon.alerting.view import test_message_view

# Each integration bounds its own calls; this bounds the whole trial of one target.
TRIAL_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class TrialResult:
    integration: str
    target: int
    outcome: Literal["delivered", "retry", "failed"]  # retry: a transient failure (delivery would try again)
    detail: str | None  # the vendor's error, or what identifies the message sent


class UnknownReceiver(LookupError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"no receiver named {name!r}; configured: {', '.join(known) or 'none'}")


async def send_test(notifiers: Notifiers, receiver: str) -> list[TrialResult]:
    known = notifiers.router.receiver_names()
    if receiver not in known:
        raise UnknownReceiver(receiver, known)
    view = test_message_view(receiver, notifiers.settings)

    async def one(target: Target) -> TrialResult:
        try:
            notifier = notifiers.notifier(target)
            outcome = await asyncio.wait_for(notifier.send(notifier.render(view, None)), TRIAL_TIMEOUT_SECONDS)
        except (TimeoutError, asyncio.TimeoutError):
            outcome = RetryLater(f"no answer within {TRIAL_TIMEOUT_SECONDS:.0f}s")
        except Exception as exc:  # noqa: BLE001 - report it with the others; the message may hold secrets
            outcome = PermanentFailure(f"{type(exc).__name__} while sending")
        if isinstance(outcome, Delivered):
            return TrialResult(target.integration, target.index, "delivered", outcome.reference)
        kind = "retry" if isinstance(outcome, RetryLater) else "failed"
        return TrialResult(target.integration, target.index, kind, outcome.reason)

    return list(await asyncio.gather(*(one(t) for t in notifiers.router.targets(receiver))))
