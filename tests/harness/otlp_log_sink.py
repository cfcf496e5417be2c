"""A stand-in for Loki's OTLP endpoint: ``POST /otlp/v1/logs`` (OTLP/HTTP protobuf, gzip or not) on 127.0.0.1.

It decodes the real OTLP messages and lets a test wait, with a deadline, until the records it received
satisfy a condition.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.logs.v1 import logs_service_pb2

from tests.harness.otlp_sinks import _attributes, _value

PATH = "/otlp/v1/logs"


@dataclass(frozen=True)
class ReceivedLog:
    body: object
    time_unix_nano: int
    severity_number: int
    severity_text: str
    trace_id: str
    span_id: str
    attributes: dict[str, object]
    resource: dict[str, object]


class HttpLogSink:
    def __init__(self) -> None:
        self._logs: list[ReceivedLog] = []
        self._changed = threading.Condition()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's method name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.path != PATH:
                    self._answer(404, b"")
                    return
                raw = gzip.decompress(body) if self.headers.get("Content-Encoding") == "gzip" else body
                sink._add(logs_service_pb2.ExportLogsServiceRequest.FromString(raw))
                self._answer(200, logs_service_pb2.ExportLogsServiceResponse().SerializeToString())

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - signature of the base class
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _add(self, request: logs_service_pb2.ExportLogsServiceRequest) -> None:
        logs = [
            ReceivedLog(
                body=_value(record.body),
                time_unix_nano=record.time_unix_nano,
                severity_number=record.severity_number,
                severity_text=record.severity_text,
                trace_id=record.trace_id.hex(),
                span_id=record.span_id.hex(),
                attributes=_attributes(record.attributes),
                resource=_attributes(resource_logs.resource.attributes),
            )
            for resource_logs in request.resource_logs
            for scope_logs in resource_logs.scope_logs
            for record in scope_logs.log_records
        ]
        with self._changed:
            self._logs.extend(logs)
            self._changed.notify_all()

    @property
    def url(self) -> str:
        """Loki's base OTLP URL as the collector's otlp_http exporter takes it (it appends ``/v1/logs``)."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/otlp"

    def wait_for(self, condition: Callable[[list[ReceivedLog]], bool], timeout: float, what: str) -> list[ReceivedLog]:
        with self._changed:
            if not self._changed.wait_for(lambda: condition(self._logs), timeout):
                raise AssertionError(f"not received within {timeout}s: {what}; got {self._logs!r}")
            return list(self._logs)

    def start(self) -> HttpLogSink:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
