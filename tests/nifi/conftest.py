"""Fixtures for the NiFi instrumentation: an OTLP/HTTP sink that keeps whole spans, and NiFi's artifacts.

NiFi's own artifacts come from Maven Central through nifi/test-module (scripts/setup/nifi.sh fetches them,
and is run from here when they are missing). Missing Maven or a failed fetch fails the tests: never a skip.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from tests.harness.otlp_sinks import HttpTraceSink, ReceivedSpan, ReceivedSpans

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "nifi" / "scripts"
TEST_MODULE = REPO / "nifi" / "test-module"
SETUP_SCRIPT = REPO / "scripts" / "setup" / "nifi.sh"
NIFIAPI_DIR = TEST_MODULE / "target" / "nifiapi"
SETUP_TIMEOUT = 1800
# The interpreter running the tests has the otelmon package and the OTel SDK, as the NiFi image's has.
PYTHON = sys.executable


class WholeSpans(ReceivedSpans):
    """ReceivedSpans that also keeps each span's protobuf, for what ReceivedSpan leaves out (events, parent)."""

    def __init__(self) -> None:
        super().__init__()
        self.whole: dict[str, trace_pb2.Span] = {}

    def add(self, request: trace_service_pb2.ExportTraceServiceRequest, headers: dict[str, str]) -> None:
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    self.whole[span.span_id.hex()] = span
        super().add(request, headers)  # notifies waiters last, when the whole spans are in place

    def for_flowfile(self, uuid: str, timeout: float = 15) -> tuple[ReceivedSpan, trace_pb2.Span]:
        """The span the runner made for FlowFile ``uuid``, waiting for it to arrive."""

        def mine(spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
            return [s for s in spans if s.attributes.get("nifi.flowfile.uuid") == uuid]

        found = mine(self.wait_for(lambda spans: bool(mine(spans)), timeout, f"a span for FlowFile {uuid}"))
        assert len(found) == 1, found
        return found[0], self.whole[found[0].span_id]


@pytest.fixture
def otlp_sink() -> Iterator[HttpTraceSink]:
    sink = HttpTraceSink()
    sink.received = WholeSpans()
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


def exception_event(span: trace_pb2.Span) -> dict[str, str]:
    events = [e for e in span.events if e.name == "exception"]
    assert len(events) == 1, span.events
    return {a.key: a.value.string_value for a in events[0].attributes}


@pytest.fixture(scope="session")
def nifi_artifacts() -> Path:
    """Runs the idempotent set-up when NiFi's artifacts are not there yet; the folder with nifiapi's jar."""
    if not list(NIFIAPI_DIR.glob("nifi-python-extension-api-*.jar")):
        result = subprocess.run(
            ["bash", str(SETUP_SCRIPT)], capture_output=True, text=True, timeout=SETUP_TIMEOUT, check=False
        )
        assert result.returncode == 0, f"{SETUP_SCRIPT} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    jars = list(NIFIAPI_DIR.glob("nifi-python-extension-api-*.jar"))
    assert len(jars) == 1, f"expected one nifiapi jar in {NIFIAPI_DIR}, found {jars}"
    return jars[0]
