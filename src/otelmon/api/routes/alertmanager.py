"""``POST /api/v1/alertmanager``: Alertmanager's webhook, so Prometheus's stack-health alerts reach the same
receivers and routes as pipeline failures (otelmon.alertmanager)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from otelmon.alertmanager.mapping import to_records
from otelmon.alertmanager.webhook import WebhookMessage
from otelmon.api.deps import get_runtime, read_model, require_token, wake_alerts
from otelmon.api.responses import otlp_status
from otelmon.api.runtime import Runtime

router = APIRouter(prefix="/api/v1", tags=["alertmanager"], dependencies=[Depends(require_token)])

# A notification of MAX_ALERTS alerts with ordinary labels is well under this.
_LIMIT_BYTES = 4 * 1024 * 1024


@router.post(
    "/alertmanager",
    summary="Alertmanager webhook (version 4): firing alerts become failures, resolved ones successful runs",
    responses={
        200: {"description": "stored (a re-sent notification is stored once)"},
        413: otlp_status("body over the limit"),
        422: {"description": "not an Alertmanager webhook body; detail names each field"},
        503: {"description": "database unavailable: Alertmanager retries the notification"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": WebhookMessage.model_json_schema()}},
        }
    },
)
async def alertmanager_webhook(request: Request, runtime: Runtime = Depends(get_runtime)) -> JSONResponse:
    message = await read_model(request, runtime, WebhookMessage, min(runtime.settings.max_body_bytes, _LIMIT_BYTES))
    if isinstance(message, JSONResponse):
        return message
    records = to_records(message)
    stored = await run_in_threadpool(runtime.ingestor.store, records.failures, records.runs)
    if stored.rejected:
        return JSONResponse({"detail": stored.reasons}, status_code=422)
    if stored.created_ids or records.runs:
        wake_alerts(request)
    runtime.metrics.ingest_requests.labels("200").inc()
    runtime.metrics.failures_stored.inc(len(stored.created_ids))
    runtime.metrics.failures_duplicate.inc(stored.duplicates)
    runtime.metrics.runs_received.inc(len(records.runs))
    return JSONResponse({"failures_created": len(stored.created_ids), "duplicates": stored.duplicates,
                         "resolved": len(records.runs)})
