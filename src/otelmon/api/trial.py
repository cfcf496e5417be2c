"""A receiver's test message sent from the API process (``POST /api/v1/receivers/{name}/test`` and the
console's "Send test"): through the alert worker's notifiers when it runs (their HTTP clients and SMTP
connections), else through a temporary set, closed after."""

from __future__ import annotations

from fastapi import Request

from otelmon.alerting.notifiers import Notifiers
from otelmon.alerting.trial import TrialResult, send_test
from otelmon.api.runtime import Runtime


async def send_test_from_api(request: Request, runtime: Runtime, receiver: str) -> list[TrialResult]:
    """Raises ``UnknownReceiver`` for a name the configuration does not have."""
    worker = getattr(request.app.state, "alert_worker", None)
    notifiers = worker.sender.notifiers if worker is not None else Notifiers(runtime.settings, runtime.router)
    try:
        return await send_test(notifiers, receiver)
    finally:
        if worker is None:
            await notifiers.aclose()
