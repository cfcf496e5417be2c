"""``otelmon send-test-failure``: one failing span through the real pipeline, to see an alert arrive."""

from __future__ import annotations

import http.client
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from otelmon.failures import attributes as k

COLLECTOR_ENDPOINT = "http://localhost:4318"
API_ENDPOINT = "http://127.0.0.1:8090"
_ERROR_TYPE = f"{__name__}.TestFailureError"


class TestFailureError(Exception):
    """Raised inside the test span so it carries a real exception event and stack trace."""


class SendError(ConnectionError):
    """The span did not arrive; the message says what to try (it may span a few lines)."""


@dataclass(frozen=True)
class SentFailure:
    trace_id: str
    run_id: str
    error_type: str


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
    call = uuid.uuid4().hex[:12]
    run_id = f"manual__{call}"
    # Every call must produce an email, but the alerts throttle a fingerprint (platform, group, process,
    # error type) for the repeat interval. A fresh fingerprint per call, by an error type naming the call,
    # rather than a throttling bypass: a bypass would be a switch in the alert pipeline that any sender
    # holding the token could set, and would mix test sends into one fingerprint's repeat counts. The
    # extra fingerprints stay inside the test's own platform and group (otelmon/otelmon_smoke_test), out
    # of every real pipeline's views, and the process keeps one name.
    error_type = f"{_ERROR_TYPE}[{call}]"
    attributes = {k.PLATFORM: "otelmon", k.GROUP: group, k.PROCESS: process, k.RUN_ID: run_id, k.TRY_NUMBER: 1}
    with provider.get_tracer("otelmon.cli").start_as_current_span(
        process, attributes=attributes, record_exception=False, set_status_on_exception=False
    ) as span:
        try:
            raise TestFailureError(message)
        except TestFailureError as exc:
            span.record_exception(exc, attributes={"exception.type": error_type})
            span.set_status(Status(StatusCode.ERROR, message))
    provider.shutdown()
    spans = memory.get_finished_spans()
    _post(endpoint, encode_spans(spans).SerializeToString(), token, timeout)
    return SentFailure(trace_id=format(spans[0].context.trace_id, "032x"), run_id=run_id, error_type=error_type)


def _post(endpoint: str, body: bytes, token: str | None, timeout: float) -> None:
    """One OTLP/HTTP export, no retries: a person is waiting and wants to know at once what is wrong."""
    headers = {"Content-Type": "application/x-protobuf"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    url = f"{endpoint.rstrip('/')}/v1/traces"
    if not url.startswith(("http://", "https://")):
        raise SendError(f"--endpoint {endpoint!r}: expected an http:// or https:// URL")
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - checked above
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - checked above
            response.read()
    except urllib.error.HTTPError as exc:
        if exc.code in (401, 403):
            raise SendError(f"{endpoint} refused the span ({exc.code}): it wants the ingest token; pass "
                            "--token <OTELMON_INGEST_TOKEN> (or set it in the environment or .env)") from None
        detail = exc.read(300).decode("utf-8", "replace").strip()
        raise SendError(f"{endpoint} did not accept the span: HTTP {exc.code} {detail}") from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, ConnectionRefusedError):
            raise SendError(_nothing_listens(endpoint)) from None
        raise SendError(f"cannot reach {endpoint}: {exc.reason}") from None
    except TimeoutError:
        raise SendError(f"{endpoint} did not answer within {timeout:g} s") from None
    except (OSError, http.client.HTTPException) as exc:  # e.g. something that is not HTTP listens there
        raise SendError(f"{endpoint} broke off the exchange: {exc!r}") from None


def token_for(endpoint: str, explicit: str | None, configured: str | None) -> str | None:
    """The bearer token to send: the one given on the command line, else the configured ingest token, but
    the configured one only to a loopback address. The default endpoint is $OTEL_EXPORTER_OTLP_ENDPOINT,
    which may well be a vendor's: a secret leaves this machine only when the user names where it goes."""
    if explicit:
        return explicit
    host = urllib.parse.urlsplit(endpoint).hostname or ""
    loopback = host == "localhost" or host == "::1" or host.startswith("127.")
    return configured if loopback else None


def _nothing_listens(endpoint: str) -> str:
    return (
        f"nothing listens at {endpoint} (connection refused).\n"
        f"  {COLLECTOR_ENDPOINT} is the OpenTelemetry Collector of the Docker stack (`docker compose up -d`).\n"
        f"  Without Docker, `otelmon serve` is the API, at {API_ENDPOINT}: send straight to it with\n"
        f"    otelmon send-test-failure --endpoint {API_ENDPOINT} [--token <OTELMON_INGEST_TOKEN>]"
    )


def default_endpoint() -> str:
    return os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", COLLECTOR_ENDPOINT)
