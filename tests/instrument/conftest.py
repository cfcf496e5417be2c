"""``trace_log`` in this process, its spans kept in memory and read the way ingest reads them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otelmon.failures.extract import extract_failures
from otelmon.failures.model import Failure
from otelmon.instrument import job, provider
from otelmon.instrument.job import ENV


@dataclass
class Recorded:
    memory: InMemorySpanExporter
    provider: TracerProvider

    def spans(self) -> dict[str, ReadableSpan]:
        """Finished spans by name (a local function's ``test_x.<locals>.load`` as ``load``)."""
        found: dict[str, ReadableSpan] = {}
        for span in self.memory.get_finished_spans():
            name = span.name.rsplit(".", 1)[-1]
            assert name not in found, f"two spans called {name}"
            found[name] = span
        return found

    def failures(self) -> list[Failure]:
        """What ingest stores from the spans made so far."""
        return extract_failures(encode_spans(self.memory.get_finished_spans())).failures


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorded]:
    for name in [*ENV.values(), "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES"]:
        monkeypatch.delenv(name, raising=False)
    memory = InMemorySpanExporter()
    sdk = TracerProvider(resource=Resource.create({"service.name": "python"}))
    sdk.add_span_processor(SimpleSpanProcessor(memory))
    monkeypatch.setattr(provider, "_tracer", sdk.get_tracer("otelmon.instrument"))
    monkeypatch.setattr(provider, "_provider", None)  # flush() has nothing to do
    job.reset()
    yield Recorded(memory, sdk)
    job.reset()
