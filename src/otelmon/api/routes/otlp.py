"""``POST /v1/traces``: the OTLP/HTTP receiver the collector's failures-and-runs pipeline exports to."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool

from otelmon.api.deps import get_runtime, read_body, require_token, wake_alerts
from otelmon.api.responses import otlp_status
from otelmon.api.runtime import Runtime
from otelmon.failures.extract import Extraction, extract_failures
from otelmon.ingest import StoreResult
from otelmon.otlp.decode import JSON, PROTOBUF, body_limit, encode_response, media_type, parse_cost, parse_request
from otelmon.otlp.decompress import decode_content

router = APIRouter(tags=["otlp"])

# How long a request waits for its share of the parse budget before a 503 asks its sender to retry: the
# largest legal body parses in about a second, so this covers a queue of large batches.
_PARSE_WAIT_SECONDS = 30.0

# The body is read raw (size-capped, maybe gzip) and decoded by the OTLP decoder, so FastAPI cannot infer
# it: declared here. Both are OTLP's ExportTrace* messages; their full schemas are OpenTelemetry's.
_OTLP_BINARY = {"type": "string", "format": "binary"}
_REQUEST_BODY = {
    "required": True,
    "description": "ExportTraceServiceRequest; Content-Encoding: gzip accepted",
    "content": {
        PROTOBUF: {"schema": _OTLP_BINARY},
        JSON: {"schema": {"type": "object", "description": "OTLP JSON: resourceSpans, hex trace and span ids"}},
    },
}
_EXPORT_RESPONSE = {
    "description": "ExportTraceServiceResponse in the request's content type; unusable spans in partialSuccess",
    "content": {
        PROTOBUF: {"schema": _OTLP_BINARY},
        JSON: {"schema": {"type": "object", "properties": {"partialSuccess": {"type": "object"}}}},
    },
}


def _declared_size(request: Request, limit: int) -> int:
    """What the body will take in memory: its Content-Length, or the limit when it has none (read_body checks
    the header itself)."""
    declared = request.headers.get("content-length", "")
    return min(int(declared), limit) if declared.isdigit() else limit


def _ingest(
    runtime: Runtime, body: bytes, kind: str, encoding: str | None, limit: int
) -> tuple[Extraction, StoreResult]:
    # Runs in a worker thread: decoding a large batch and the database round trip must not
    # stall the event loop (health checks and other requests keep being served).
    # Inflated and parsed within the budget, released before the database round trip: the parsed request is
    # the large object, the failures extracted from it are few. A compressed body's size is known only once
    # inflated, so it is charged the whole limit: a small gzip body that inflates to the limit cannot slip
    # past the budget (inflating and parsing are CPU work that the GIL serialises anyway).
    # Task spans are a run each, and a body of nothing else holds as many runs as spans until they are stored:
    # such a body keeps its share until then (the parse's share covers them: a run takes less than its parse).
    compressed = (encoding or "").strip().lower() not in ("", "identity")
    with runtime.parse_budget.hold(parse_cost(limit if compressed else len(body), kind), _PARSE_WAIT_SECONDS):
        raw = decode_content(body, encoding, limit)
        extraction = extract_failures(parse_request(raw, kind))
        del raw
        if extraction.runs:
            return extraction, runtime.ingestor.store(extraction.failures, extraction.runs)
    return extraction, runtime.ingestor.store(extraction.failures)


@router.post(
    "/v1/traces",
    dependencies=[Depends(require_token)],
    summary="OTLP/HTTP trace export (protobuf or JSON, optionally gzip)",
    response_class=Response,
    responses={
        200: _EXPORT_RESPONSE,
        400: otlp_status("malformed body"),
        408: otlp_status("request body not received in time"),
        413: otlp_status("body over the limit, before or after decompression"),
        415: otlp_status("unsupported Content-Type or Content-Encoding"),
    },
    openapi_extra={"requestBody": _REQUEST_BODY},
)
async def export_traces(request: Request, runtime: Runtime = Depends(get_runtime)) -> Response:
    started = time.perf_counter()
    kind = media_type(request.headers.get("content-type"))
    limit = body_limit(kind, runtime.settings)
    # Not waited for (timeout 0): queueing here would hold the event loop; the sender retries after a 503.
    with runtime.body_budget.hold(_declared_size(request, limit), timeout=0):
        body = await read_body(request, limit)
        extraction, stored = await run_in_threadpool(
            _ingest, runtime, body, kind, request.headers.get("content-encoding"), limit
        )
        del body
    if stored.created_ids:
        wake_alerts(request)
    m = runtime.metrics
    m.spans_received.inc(extraction.spans_seen)
    m.spans_rejected.inc(extraction.rejected)
    m.failures_stored.inc(len(stored.created_ids))
    m.runs_received.inc(len(extraction.runs))
    m.failures_duplicate.inc(stored.duplicates)
    if extraction.failures or extraction.runs:
        m.database_up.set(1)
    m.ingest_requests.labels("200").inc()
    m.ingest_duration.observe(time.perf_counter() - started)
    message = "; ".join(extraction.reasons + stored.reasons)
    return Response(encode_response(kind, extraction.rejected + stored.rejected, message), media_type=kind)
