"""The tracer our instrumentation uses: an SDK TracerProvider configured by the standard ``OTEL_*`` variables,
whose exports are bounded so that a collector that is down costs a task a few seconds, never its result.

The provider is private to OtelMon (never installed as the global one): Airflow's native tracing, when a
deployment turns it on, installs its own global provider and flushes it with its own (30 s) timeout; keeping
ours apart means our bound holds whatever else runs in the process.

Variables read (once, when the first span is made):
- ``OTEL_SDK_DISABLED=true``: no spans at all.
- ``OTEL_TRACES_EXPORTER``: ``otlp`` (default; OTLP/HTTP protobuf), ``console`` or ``none``.
- ``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, ``..._HEADERS``, ``..._COMPRESSION``,
  ``..._TIMEOUT``: read by the SDK's OTLP/HTTP exporter itself.
- ``OTEL_SERVICE_NAME`` / ``OTEL_RESOURCE_ATTRIBUTES``: the resource; the caller's default service name
  applies only when neither names one.
- ``OTEL_BSP_*``: the batch processor's queue and schedule.
- ``OTELMON_FLUSH_TIMEOUT_SECONDS`` (default 3): the most a flush may block its caller.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Sequence

from opentelemetry import trace

log = logging.getLogger("otelmon.instrument")

FLUSH_TIMEOUT_ENV = "OTELMON_FLUSH_TIMEOUT_SECONDS"
DEFAULT_FLUSH_TIMEOUT = 3.0
_INSTRUMENTATION_NAME = "otelmon.instrument"
_UNNAMED_SERVICE_PREFIX = "unknown_service"

_lock = threading.Lock()
_provider = None  # opentelemetry.sdk.trace.TracerProvider once built; None while unused or disabled
_tracer: trace.Tracer | None = None


def flush_timeout() -> float:
    raw = os.environ.get(FLUSH_TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_FLUSH_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value <= 0:
        log.warning("%s=%r is not a positive number of seconds; using %s", FLUSH_TIMEOUT_ENV, raw,
                    DEFAULT_FLUSH_TIMEOUT)
        return DEFAULT_FLUSH_TIMEOUT
    return value


def get_tracer(default_service_name: str = "python") -> trace.Tracer:
    """The instrumentation's tracer; the first call builds the provider (later defaults are ignored)."""
    global _tracer
    if _tracer is not None:
        return _tracer
    with _lock:
        if _tracer is None:
            _tracer = _build(default_service_name)
    return _tracer


def flush(timeout: float | None = None) -> bool:
    """Export what is queued, waiting at most ``timeout`` seconds (default: the configured bound).

    The SDK's own ``force_flush`` ignores its timeout and blocks for as long as the exporter retries, so the
    flush runs on a helper thread that is abandoned (daemon) when the bound is reached. Returns whether
    everything queued so far was delivered; a failure is logged, never raised.
    """
    provider = _provider
    if provider is None:
        return True
    bound = flush_timeout() if timeout is None else timeout
    done = threading.Event()

    def run() -> None:
        try:
            provider.force_flush()
        except Exception:  # noqa: BLE001 - a broken exporter must not reach the task
            log.exception("flushing spans failed")
        finally:
            done.set()

    threading.Thread(target=run, name="otelmon-span-flush", daemon=True).start()
    if not done.wait(bound):
        log.warning("spans not delivered to %s within %.1f s; the task goes on without waiting for them",
                    _endpoint_for_log(), bound)
        return False
    return _reporter.last_ok if _reporter is not None else True


def _flush_at_exit() -> None:
    try:
        flush()
    except RuntimeError:
        # Python 3.12+ refuses new threads during shutdown; the exporter's own timeout (the flush bound
        # unless OTEL_EXPORTER_OTLP_TIMEOUT says otherwise) still bounds an inline flush.
        if _provider is not None:
            _provider.force_flush()


def _endpoint_for_log() -> str:
    return (os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
            or "the default OTLP endpoint (http://localhost:4318)")


class _ReportingExporter:
    """Passes batches to the real exporter and remembers whether the last one arrived, so a flush can tell
    its caller (and the task log) that spans were lost instead of returning True regardless."""

    def __init__(self, exporter) -> None:
        self._exporter = exporter
        self.last_ok = True

    def export(self, spans: Sequence):
        from opentelemetry.sdk.trace.export import SpanExportResult

        result = self._exporter.export(spans)
        self.last_ok = result == SpanExportResult.SUCCESS
        if not self.last_ok:
            log.warning("could not deliver %d span(s) to %s; they are dropped", len(spans), _endpoint_for_log())
        return result

    def shutdown(self) -> None:
        self._exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._exporter.force_flush(timeout_millis)


_reporter: _ReportingExporter | None = None


def _build(default_service_name: str) -> trace.Tracer:
    global _provider, _reporter
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return trace.NoOpTracer()

    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({})
    if str(resource.attributes.get("service.name", "")).startswith(_UNNAMED_SERVICE_PREFIX):
        resource = resource.merge(Resource({"service.name": default_service_name}))
    # The SDK's exit hook would flush with a 30 s default; ours below keeps the bound.
    provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    exporter = _make_exporter()
    if exporter is not None:
        _reporter = _ReportingExporter(exporter)
        provider.add_span_processor(BatchSpanProcessor(_reporter))
    _provider = provider
    atexit.register(_flush_at_exit)
    return provider.get_tracer(_INSTRUMENTATION_NAME)


def _make_exporter():
    name = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() or "otlp"
    if name == "none":
        return None
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if name not in ("otlp", "otlp_proto_http"):
        log.warning("OTEL_TRACES_EXPORTER=%r is not supported here; using OTLP/HTTP", name)
    protocol = (os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
                or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL") or "http/protobuf")
    if protocol != "http/protobuf":
        log.warning("OTEL_EXPORTER_OTLP_PROTOCOL=%r: OtelMon exports with http/protobuf only", protocol)

    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    # The exporter retries until its own timeout; unless the user chose one, it is the flush bound, so a
    # batch stuck on a dead collector is given up about when the flush stops waiting for it.
    explicit = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") or os.environ.get("OTEL_EXPORTER_OTLP_TIMEOUT")
    return OTLPSpanExporter(timeout=None if explicit else flush_timeout())
