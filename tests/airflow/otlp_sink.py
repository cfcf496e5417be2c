"""Loopback OTLP/HTTP endpoints for instrumentation tests.

``OtlpSink`` decodes every ``ExportTraceServiceRequest`` it receives and keeps the spans, so tests can
check spans that never become failures (successful tries, shared trace ids). Given ``forward_to``, it also
passes each request on unchanged to that OTLP receiver (the OtelMon API) and answers with the receiver's
response, the way the collector fans traffic out in the stack.

``HangingEndpoint`` accepts connections and never answers: a collector that is up but stuck.
"""

from __future__ import annotations

import gzip
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from otelmon.failures.values import attributes_to_dict

_FORWARD_TIMEOUT = 30


@dataclass(frozen=True)
class ReceivedSpan:
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str | None
    error: bool
    status_message: str
    attributes: dict[str, Any]
    resource: dict[str, Any]
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def event(self, name: str) -> dict[str, Any] | None:
        return next((attrs for event_name, attrs in self.events if event_name == name), None)


class OtlpSink:
    def __init__(self, forward_to: str | None = None) -> None:
        self.forward_to = forward_to.rstrip("/") + "/v1/traces" if forward_to else None
        self._spans: list[ReceivedSpan] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        """Base URL for ``OTEL_EXPORTER_OTLP_ENDPOINT`` (the exporter appends ``/v1/traces``)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> OtlpSink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def spans(self, **attributes: Any) -> list[ReceivedSpan]:
        """Received spans whose attributes include all of ``attributes``."""
        with self._lock:
            spans = list(self._spans)
        return [s for s in spans if all(s.attributes.get(key) == value for key, value in attributes.items())]

    def _store(self, request: ExportTraceServiceRequest) -> None:
        received = []
        for resource_spans in request.resource_spans:
            resource = attributes_to_dict(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    received.append(ReceivedSpan(
                        name=span.name,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex() or None,
                        error=span.status.code == Status.STATUS_CODE_ERROR,
                        status_message=span.status.message,
                        attributes=attributes_to_dict(span.attributes),
                        resource=resource,
                        events=[(e.name, attributes_to_dict(e.attributes)) for e in span.events],
                    ))
        with self._lock:
            self._spans.extend(received)

    def _forward(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, str]:
        response = httpx.post(self.forward_to, content=body, headers=headers, timeout=_FORWARD_TIMEOUT)
        return response.status_code, response.content, response.headers.get("Content-Type", "")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                raw = gzip.decompress(body) if self.headers.get("Content-Encoding") == "gzip" else body
                request = ExportTraceServiceRequest()
                request.ParseFromString(raw)
                sink._store(request)
                if sink.forward_to:
                    passed = {h: self.headers[h] for h in ("Content-Type", "Content-Encoding") if self.headers[h]}
                    status, answer, content_type = sink._forward(body, passed)
                else:
                    status, answer = 200, ExportTraceServiceResponse().SerializeToString()
                    content_type = "application/x-protobuf"
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


class HangingEndpoint:
    """Accepts connections and reads nothing, answers nothing, until stopped."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def endpoint(self) -> str:
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
