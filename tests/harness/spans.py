"""Real spans made by the OpenTelemetry SDK, for the SDK's own exporters to send."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode


class SpanFactory:
    """Builds finished spans with a real TracerProvider and keeps them for export."""

    def __init__(self, service: str = "test-service", resource: dict | None = None) -> None:
        self.memory = InMemorySpanExporter()
        self.provider = TracerProvider(resource=Resource.create({"service.name": service, **(resource or {})}))
        self.provider.add_span_processor(SimpleSpanProcessor(self.memory))
        self.tracer = self.provider.get_tracer("otelmon-tests")

    def ok(self, name: str, attributes: dict | None = None) -> None:
        with self.tracer.start_as_current_span(name, attributes=attributes or {}):
            pass

    def failing(self, name: str, attributes: dict | None = None, exc: BaseException | None = None) -> None:
        exc = exc or RuntimeError(f"{name} failed")
        with self.tracer.start_as_current_span(name, attributes=attributes or {}, record_exception=False,
                                               set_status_on_exception=False) as span:
            try:
                raise exc
            except BaseException as raised:  # noqa: BLE001 - recorded on the span, as instrumentation does
                span.record_exception(raised)
                span.set_status(Status(StatusCode.ERROR, str(raised)))

    def take(self) -> list[ReadableSpan]:
        spans = list(self.memory.get_finished_spans())
        self.memory.clear()
        return spans


def protobuf_body(spans: Sequence[ReadableSpan]) -> bytes:
    return encode_spans(spans).SerializeToString()
