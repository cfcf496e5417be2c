"""A pipeline run as OtelMon's instrumentation reports it: many OK spans and one failing task,
sent by the OTel SDK's own OTLP/HTTP exporter."""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult

from tests.harness.spans import SpanFactory

SERVICE = "otelmon-collector-test"
PLATFORM = "airflow"
GROUP = "nightly_load"
FAILING_PROCESS = "load_orders"


@dataclass
class Run:
    spans: list[ReadableSpan]
    error: ReadableSpan

    @property
    def span_ids(self) -> set[str]:
        return {format(span.context.span_id, "016x") for span in self.spans}

    @property
    def error_span_id(self) -> str:
        return format(self.error.context.span_id, "016x")


def make_run(ok_spans: int = 99, run_id: str = "run-1") -> Run:
    """One ERROR task span among ``ok_spans`` OK steps (spans inside a try, as ``trace_log.step`` makes them:
    the try's identity plus ``otelmon.step``); the otelmon.* identity sits on resource and spans."""
    factory = SpanFactory(SERVICE, resource={"otelmon.platform": PLATFORM, "otelmon.group": GROUP})
    for number in range(ok_spans):
        factory.ok(f"step_{number}", {"otelmon.process": f"task_{number}", "otelmon.run_id": run_id,
                                      "otelmon.step": f"step_{number}"})
    factory.failing(FAILING_PROCESS, {"otelmon.process": FAILING_PROCESS, "otelmon.run_id": run_id,
                                      "otelmon.try_number": 1})
    spans = factory.take()
    errors = [span for span in spans if span.name == FAILING_PROCESS]
    assert len(errors) == 1
    return Run(spans=spans, error=errors[0])


def send(traces_url: str, spans: list[ReadableSpan]) -> None:
    exporter = OTLPSpanExporter(endpoint=traces_url, timeout=10)
    try:
        assert exporter.export(spans) == SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()
