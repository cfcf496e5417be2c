"""OTLP payloads for benchmarks: protobuf + gzip batches of 512 spans with 1 % errors."""

from __future__ import annotations

import gzip
import os

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Status

SPANS_PER_BATCH = 512
ERRORS_PER_BATCH = 5  # ~1 %


def _kv(key: str, value) -> KeyValue:
    item = KeyValue(key=key)
    if isinstance(value, int):
        item.value.int_value = value
    else:
        item.value.string_value = value
    return item


def make_batch(batch_no: int, run: str = "bench") -> bytes:
    """One ExportTraceServiceRequest like an instrumented Airflow worker sends, gzip-compressed."""
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.extend([_kv("service.name", "airflow-worker"), _kv("host.name", "worker-1")])
    scope = rs.scope_spans.add()
    scope.scope.name = "trace_log"
    error_every = SPANS_PER_BATCH // ERRORS_PER_BATCH
    start = 1_763_800_000_000_000_000 + batch_no * 1_000_000_000
    for i in range(SPANS_PER_BATCH):
        span = scope.spans.add(
            trace_id=os.urandom(16), span_id=os.urandom(8), name=f"task_{i % 40}", kind=1,
            start_time_unix_nano=start + i * 1000, end_time_unix_nano=start + i * 1000 + 250_000_000,
        )
        span.attributes.extend([
            _kv("otelmon.platform", "airflow"), _kv("otelmon.group", f"dag_{i % 7}"),
            _kv("otelmon.process", f"task_{i % 40}"), _kv("otelmon.run_id", f"{run}-{batch_no}-{i}"),
            _kv("otelmon.try_number", 1),
        ])
        if i % error_every == 0 and i // error_every < ERRORS_PER_BATCH:
            span.status.code = Status.STATUS_CODE_ERROR
            span.status.message = "boom"
            event = span.events.add(name="exception", time_unix_nano=start + i * 1000 + 1)
            event.attributes.extend([
                _kv("exception.type", "ValueError"), _kv("exception.message", f"bad row {i}"),
                _kv("exception.stacktrace", "Traceback (most recent call last):\n  File \"etl.py\"...\n" * 5),
            ])
        else:
            span.status.code = Status.STATUS_CODE_OK
    return gzip.compress(request.SerializeToString(), compresslevel=6)
