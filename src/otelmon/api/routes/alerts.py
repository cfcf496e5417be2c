"""``/api/v1/alerts``: alert history and the state of the outbox; resend or cancel one alert."""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from otelmon.alerting import admin
from otelmon.alerting.history import read_history
from otelmon.api.deps import get_runtime, require_token, wake_sender
from otelmon.api.runtime import Runtime
from otelmon.api.schemas import MAX_ID, UtcDateTime

router = APIRouter(prefix="/api/v1", tags=["alerts"], dependencies=[Depends(require_token)])

AlertState = Literal["pending", "sending", "sent", "failed", "unroutable", "cancelled"]


class DeliveryItem(BaseModel):
    """One target of the alert: its own tries, backoff and last error."""

    receiver: str
    integration: str  # email, slack, msteams, telegram, googlechat, discord, pagerduty, webhook, apprise
    target: int  # which entry of the receiver's list for that integration
    state: str
    attempts: int
    last_error: str | None
    next_attempt_at: UtcDateTime
    sent_at: UtcDateTime | None


class AlertItem(BaseModel):
    id: int
    kind: str
    state: str
    subject: str | None
    recipients: list[str]  # whom it was last sent to; empty until it is sent
    fingerprint: str | None
    head_failure_id: int | None
    failure_count: int
    suppressed_count: int
    attempts: int
    last_error: str | None  # why it waits (unroutable: which setting is missing) or why the last try failed
    message_id: str | None
    created_at: UtcDateTime
    next_attempt_at: UtcDateTime
    sent_at: UtcDateTime | None
    deliveries: list[DeliveryItem] = []


class AlertPage(BaseModel):
    items: list[AlertItem]
    next_before_id: int | None
    alerts_by_state: dict[str, int]
    outbox_by_state: dict[str, int]


def _item(row: Any, deliveries: list[Any] | None = None) -> AlertItem:
    return AlertItem(**{**row._mapping, "recipients": json.loads(row.recipients)},
                     deliveries=[DeliveryItem(**d._mapping) for d in deliveries or []])


@router.get("/alerts", response_model=AlertPage,
            summary="Alerts, newest first, with their deliveries per target, and the outbox state")
async def list_alerts(
    runtime: Runtime = Depends(get_runtime),
    state: AlertState | None = Query(None, description="Only alerts in this state"),
    limit: int = Query(50, ge=1, le=500),
    before_id: int | None = Query(None, ge=1, le=MAX_ID, description="Pass next_before_id to get older alerts"),
) -> AlertPage:
    history = await run_in_threadpool(read_history, runtime.engine, runtime.tables, state, limit, before_id)
    more = len(history.rows) > limit
    rows = history.rows[:limit]
    return AlertPage(items=[_item(r, history.deliveries.get(r.id)) for r in rows],
                     next_before_id=rows[-1].id if more else None,
                     alerts_by_state=history.alerts_by_state, outbox_by_state=history.outbox_by_state)


_TRANSITION_ERRORS = {
    404: {"description": "No alert with this id"},
    409: {"description": "The alert's state does not allow this (e.g. cancelling a sent alert)"},
}


async def _transition(request: Request, runtime: Runtime, action: Any, alert_id: int) -> AlertItem:
    try:
        row = await run_in_threadpool(action, runtime.engine, runtime.tables, alert_id)
    except admin.AlertNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except admin.InvalidTransition as exc:
        raise HTTPException(409, str(exc)) from None
    wake_sender(request)
    return _item(row)


@router.post("/alerts/{alert_id}/resend", response_model=AlertItem, responses=_TRANSITION_ERRORS,
             summary="Send an alert (again): a sent, failed, unroutable or cancelled alert goes back to pending, "
             "its tries counted from zero, with the same Message-ID")
async def resend_alert(request: Request, alert_id: int = Path(ge=1, le=MAX_ID),
                       runtime: Runtime = Depends(get_runtime)) -> AlertItem:
    return await _transition(request, runtime, admin.resend, alert_id)


@router.post("/alerts/{alert_id}/cancel", response_model=AlertItem, responses=_TRANSITION_ERRORS,
             summary="Never send this alert: a pending, failed or unroutable alert becomes cancelled")
async def cancel_alert(request: Request, alert_id: int = Path(ge=1, le=MAX_ID),
                       runtime: Runtime = Depends(get_runtime)) -> AlertItem:
    return await _transition(request, runtime, admin.cancel, alert_id)
