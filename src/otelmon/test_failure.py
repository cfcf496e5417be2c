"""``otelmon send-test-failure``: one failing span through the real pipeline, to see an alert arrive."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from otelmon.failures import attributes as k


class TestFailureError(Exception):
    """Raised inside the test span so it carries a real exception event and stack trace."""


@dataclass(frozen=True)
class SentFailure:
    trace_id: str
    run_id: str


def send_test_failure(
    endpoint: str,
    token: str | None = None,
    group: str = "otelmon_smoke_test",
    process: str = "send_test_failure",
    message: str = "This is a test failure from OtelMon",
    timeout: float = 10.0,
) -> SentFailure:
    memory = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create({"service.name": "otelmon-cli", k.HOST_NAME: socket.gethostname()})
    )
    provider.add_span_processor(SimpleSpanProcessor(memory))
    run_id = f"manual__{uuid.uuid4().hex[:12]}"
    attributes = {k.PLATFORM: "otelmon", k.GROUP: group, k.PROCESS: process, k.RUN_ID: run_id, k.TRY_NUMBER: 1}
    with provider.get_tracer("otelmon.cli").start_as_current_span(
        process, attributes=attributes, record_exception=False, set_status_on_exception=False
    ) as span:
        try:
            raise TestFailureError(message)
        except TestFailureError as exc:
            span.record_exception(exc)
            span.set_status(Status(StatusCode.ERROR, message))
    spans = memory.get_finished_spans()
    headers = {"Authorization": f"Bearer {token}"} if token else None
    exporter = OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces", headers=headers, timeout=timeout)
    try:
        if exporter.export(spans) != SpanExportResult.SUCCESS:
            raise ConnectionError(f"the OTLP endpoint {endpoint} did not accept the span (see the log above)")
    finally:
        exporter.shutdown()
        provider.shutdown()
    return SentFailure(trace_id=format(spans[0].context.trace_id, "032x"), run_id=run_id)


def default_endpoint() -> str:
    return os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "http://localhost:4318")
