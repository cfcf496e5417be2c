"""OTLP payloads for benchmarks: protobuf + gzip batches of 512 spans with 1 % errors."""

from __future__ import annotations

import gzip
import os

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

SPANS_PER_BATCH = 512
ERRORS_PER_BATCH = 5  # ~1 %
_FIRST_START = 1_763_800_000_000_000_000


def _kv(key: str, value) -> KeyValue:
    item = KeyValue(key=key)
    if isinstance(value, int):
        item.value.int_value = value
    else:
        item.value.string_value = value
    return item


def _worker_request() -> tuple[ExportTraceServiceRequest, list]:
    """An empty export request from an Airflow worker, and the span list of its one scope."""
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.extend([_kv("service.name", "airflow-worker"), _kv("host.name", "worker-1")])
    scope = rs.scope_spans.add()
    scope.scope.name = "trace_log"
    return request, scope.spans


def _add_span(spans, name: str, start: int, task: int, run_id: str) -> Span:
    span = spans.add(trace_id=os.urandom(16), span_id=os.urandom(8), name=name, kind=1,
                     start_time_unix_nano=start, end_time_unix_nano=start + 250_000_000)
    span.attributes.extend([
        _kv("otelmon.platform", "airflow"), _kv("otelmon.group", f"dag_{task % 7}"),
        _kv("otelmon.process", f"task_{task % 40}"), _kv("otelmon.run_id", run_id), _kv("otelmon.try_number", 1),
    ])
    span.status.code = Status.STATUS_CODE_OK
    return span


def _fail(span: Span, message: str) -> None:
    span.status.code = Status.STATUS_CODE_ERROR
    span.status.message = "boom"
    event = span.events.add(name="exception", time_unix_nano=span.start_time_unix_nano + 1)
    event.attributes.extend([
        _kv("exception.type", "ValueError"), _kv("exception.message", message),
        _kv("exception.stacktrace", "Traceback (most recent call last):\n  File \"etl.py\"...\n" * 5),
    ])


def make_batch(batch_no: int, run: str = "bench") -> bytes:
    """One ExportTraceServiceRequest like an instrumented Airflow worker sends, gzip-compressed."""
    request, spans = _worker_request()
    error_every = SPANS_PER_BATCH // ERRORS_PER_BATCH
    start = _FIRST_START + batch_no * 1_000_000_000
    for i in range(SPANS_PER_BATCH):
        span = _add_span(spans, f"task_{i % 40}", start + i * 1000, i, f"{run}-{batch_no}-{i}")
        if i % error_every == 0 and i // error_every < ERRORS_PER_BATCH:
            _fail(span, f"bad row {i}")
    return gzip.compress(request.SerializeToString(), compresslevel=6)


def make_try_batch(batch_no: int, run: str = "bench", steps_per_try: int = 15) -> bytes:
    """Shaped as instrumented tasks send it: one task-level span per try (the try's identity, no
    ``otelmon.step``) next to its ``steps_per_try`` step spans (identity plus ``otelmon.step``, which the
    collector's ``filter/failures_and_runs`` leaves out). The ERRORS_PER_BATCH errors (1 % of the spans) are the
    task spans of as many tries, so the failures are as many as make_batch's; every other span is OK."""
    request, spans = _worker_request()
    start = _FIRST_START + batch_no * 1_000_000_000
    for i in range(SPANS_PER_BATCH):
        task, step = divmod(i, steps_per_try + 1)
        span = _add_span(spans, f"step_{step}" if step else f"task_{task % 40}", start + i * 1000, task,
                         f"{run}-{batch_no}-{task}")
        if step:
            span.attributes.append(_kv("otelmon.step", f"step_{step}"))
        elif task < ERRORS_PER_BATCH:
            _fail(span, f"bad row {i}")
    return gzip.compress(request.SerializeToString(), compresslevel=6)


def tries_per_batch(steps_per_try: int) -> int:
    """Task-level spans in one make_try_batch (the last try may be cut short of its steps)."""
    return -(-SPANS_PER_BATCH // (steps_per_try + 1))
