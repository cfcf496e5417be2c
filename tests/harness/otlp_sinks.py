"""Stand-in OTLP receivers on loopback.

``GrpcTraceSink`` takes Tempo's place (the collector's ``otlp_grpc`` exporter). ``HttpTraceSink`` takes
otelmon-api's (the collector's ``otlp_http`` exporter) or the collector's (the SDK exporter of an Airflow
task or a NiFi script); given ``forward_to`` it also passes each request on unchanged to that OTLP
receiver (the OtelMon API) and answers with the receiver's answer, the way the collector fans traffic
out. Both decode the real OTLP protobuf messages and let a test wait, with a deadline, until what they
received satisfies a condition. ``HangingEndpoint`` accepts connections and never answers: a collector
that is up but stuck.
"""

from __future__ import annotations

import gzip
import socket
import threading
from collections.abc import Callable
from concurrent import futures
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import httpx
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Status


def _value(value: AnyValue) -> object:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    return getattr(value, kind) if kind else None


def _attributes(pairs: list[KeyValue]) -> dict[str, object]:
    return {pair.key: _value(pair.value) for pair in pairs}


_FORWARD_TIMEOUT = 30


@dataclass(frozen=True)
class ReceivedSpan:
    trace_id: str
    span_id: str
    name: str
    status_code: int
    attributes: dict[str, object] = field(hash=False, compare=False)
    resource: dict[str, object] = field(hash=False, compare=False)
    parent_span_id: str | None = None
    status_message: str = ""
    events: list[tuple[str, dict[str, object]]] = field(default_factory=list, hash=False, compare=False)

    @property
    def is_error(self) -> bool:
        return self.status_code == Status.STATUS_CODE_ERROR

    def event(self, name: str) -> dict[str, object] | None:
        """The attributes of the first event called ``name``."""
        return next((attrs for event_name, attrs in self.events if event_name == name), None)


class ReceivedSpans:
    """Every span a sink accepted, in arrival order; thread-safe, with waiting on a condition."""

    def __init__(self) -> None:
        self._spans: list[ReceivedSpan] = []
        self.requests = 0
        self.refused = 0  # requests answered with an error status
        self.headers: list[dict[str, str]] = []
        self._changed = threading.Condition()

    def add(self, request: trace_service_pb2.ExportTraceServiceRequest, headers: dict[str, str]) -> None:
        spans = [
            ReceivedSpan(
                trace_id=span.trace_id.hex(),
                span_id=span.span_id.hex(),
                name=span.name,
                status_code=span.status.code,
                attributes=_attributes(span.attributes),
                resource=_attributes(resource_spans.resource.attributes),
                parent_span_id=span.parent_span_id.hex() or None,
                status_message=span.status.message,
                events=[(event.name, _attributes(event.attributes)) for event in span.events],
            )
            for resource_spans in request.resource_spans
            for scope_spans in resource_spans.scope_spans
            for span in scope_spans.spans
        ]
        with self._changed:
            self._spans.extend(spans)
            self.requests += 1
            self.headers.append(headers)
            self._changed.notify_all()

    def note_refused(self) -> None:
        with self._changed:
            self.refused += 1
            self._changed.notify_all()

    def wait_refused(self, count: int, timeout: float) -> None:
        """Block until ``count`` requests were refused: the exporter tried, and will retry."""
        with self._changed:
            if not self._changed.wait_for(lambda: self.refused >= count, timeout):
                raise AssertionError(f"{self.refused} requests refused within {timeout}s, expected {count}")

    @property
    def spans(self) -> list[ReceivedSpan]:
        with self._changed:
            return list(self._spans)

    def matching(self, **attributes: object) -> list[ReceivedSpan]:
        """Received spans whose attributes include all of ``attributes``."""
        return [s for s in self.spans if all(s.attributes.get(key) == value for key, value in attributes.items())]

    def wait_for(self, condition: Callable[[list[ReceivedSpan]], bool], timeout: float,
                 what: str) -> list[ReceivedSpan]:
        """Block until ``condition(spans)`` holds; fail the test after ``timeout`` seconds."""
        with self._changed:
            if not self._changed.wait_for(lambda: condition(self._spans), timeout):
                raise AssertionError(
                    f"not received within {timeout}s: {what}; got {len(self._spans)} spans in {self.requests} requests"
                )
            return list(self._spans)


class GrpcTraceSink:
    """An OTLP/gRPC TraceService on 127.0.0.1 (Tempo's place)."""

    def __init__(self) -> None:
        self.received = ReceivedSpans()
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_TraceService(self.received), self._server)
        self.port = self._server.add_insecure_port("127.0.0.1:0")

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> GrpcTraceSink:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop(grace=1).wait(5)


class _TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, received: ReceivedSpans) -> None:
        self.received = received

    def Export(self, request, context):  # noqa: N802 - the generated servicer's method name
        self.received.add(request, dict(context.invocation_metadata()))
        return trace_service_pb2.ExportTraceServiceResponse()


class HttpTraceSink:
    """``POST /v1/traces`` (OTLP/HTTP protobuf, gzip or not) on 127.0.0.1.

    ``status`` is the HTTP status it answers with; set it to 503 to play an API that is down.
    """

    def __init__(self, port: int = 0, forward_to: str | None = None) -> None:
        self.received = ReceivedSpans()
        self.status = 200
        self.forward_to = forward_to.rstrip("/") + "/v1/traces" if forward_to else None
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's method name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path != "/v1/traces":
                    self._answer(404, b"")
                    return
                if sink.status != 200:
                    sink.received.note_refused()
                    self._answer(sink.status, b"")
                    return
                raw = gzip.decompress(body) if self.headers.get("Content-Encoding") == "gzip" else body
                request = trace_service_pb2.ExportTraceServiceRequest.FromString(raw)
                sink.received.add(request, {k.lower(): v for k, v in self.headers.items()})
                if sink.forward_to:
                    passed = {h: self.headers[h] for h in ("Content-Type", "Content-Encoding") if self.headers[h]}
                    answer = httpx.post(sink.forward_to, content=body, headers=passed, timeout=_FORWARD_TIMEOUT)
                    self._answer(answer.status_code, answer.content, answer.headers.get("Content-Type", ""))
                    return
                self._answer(200, trace_service_pb2.ExportTraceServiceResponse().SerializeToString())

            def _answer(self, status: int, body: bytes, content_type: str = "application/x-protobuf") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - signature of the base class
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The base URL, as ``OTEL_EXPORTER_OTLP_ENDPOINT`` takes it (the exporter appends ``/v1/traces``)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> HttpTraceSink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


class HangingEndpoint:
    """Accepts connections and reads nothing, answers nothing, until stopped."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def start(self) -> HangingEndpoint:
        self._thread.start()
        return self

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:  # closed by stop()
                return
            self._held.append(connection)

    def stop(self) -> None:
        self._listener.close()
        for connection in self._held:
            connection.close()
