"""``GET /api/v1/alerts``: alert history and the state of the outbox."""

from __future__ import annotations

import json
from typing import Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from otelmon.alerting.history import read_history
from otelmon.api.deps import get_runtime, require_token
from otelmon.api.runtime import Runtime
from otelmon.api.schemas import MAX_ID, UtcDateTime

router = APIRouter(prefix="/api/v1", tags=["alerts"], dependencies=[Depends(require_token)])

AlertState = Literal["pending", "sending", "sent", "failed"]


class AlertItem(BaseModel):
    id: int
    kind: str
    state: str
    subject: str | None
    recipients: list[str]
    fingerprint: str | None
    head_failure_id: int | None
    failure_count: int
    suppressed_count: int
    attempts: int
    last_error: str | None
    message_id: str | None
    created_at: UtcDateTime
    next_attempt_at: UtcDateTime
    sent_at: UtcDateTime | None


class AlertPage(BaseModel):
    items: list[AlertItem]
    next_before_id: int | None
    alerts_by_state: dict[str, int]
    outbox_by_state: dict[str, int]


@router.get("/alerts", response_model=AlertPage, summary="Alert emails, newest first, and the outbox state")
async def list_alerts(
    runtime: Runtime = Depends(get_runtime),
    state: AlertState | None = Query(None, description="Only alerts in this state"),
    limit: int = Query(50, ge=1, le=500),
    before_id: int | None = Query(None, ge=1, le=MAX_ID, description="Pass next_before_id to get older alerts"),
) -> AlertPage:
    history = await run_in_threadpool(read_history, runtime.engine, runtime.tables, state, limit, before_id)
    more = len(history.rows) > limit
    rows = history.rows[:limit]
    items = [AlertItem(**{**r._mapping, "recipients": json.loads(r.recipients)}) for r in rows]
    return AlertPage(items=items, next_before_id=rows[-1].id if more else None,
                     alerts_by_state=history.alerts_by_state, outbox_by_state=history.outbox_by_state)
