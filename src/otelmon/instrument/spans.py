"""What every OtelMon span says about the step it covers, independent of the pipeline platform."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import NonRecordingSpan, Span, SpanContext, Status, StatusCode, TraceFlags

from otelmon.failures import attributes as k
from otelmon.instrument.stacktrace import user_stacktrace

# Status descriptions travel in every alert row; the exception event keeps the full text.
_MAX_STATUS_CHARS = 1024
_SEP = "\x1f"


@dataclass(frozen=True, slots=True)
class Identity:
    """One try of one pipeline step: docs/design.md's failure identity (platform, group, process, run, try),
    and who owns it with its tags (what routes to receivers match on besides the identity)."""

    platform: str
    group: str
    process: str
    run_id: str | None = None
    try_number: int | None = None
    owner: str | None = None
    tags: tuple[str, ...] = ()
    # Whether the job's scheduler tries again if this try fails; said on a failing try's span only.
    will_retry: bool = False

    def attributes(self) -> dict[str, Any]:
        attrs: dict[str, Any] = {k.PLATFORM: self.platform, k.GROUP: self.group, k.PROCESS: self.process}
        if self.run_id is not None:
            attrs[k.RUN_ID] = self.run_id
        if self.try_number is not None:
            attrs[k.TRY_NUMBER] = self.try_number
        if self.owner:
            attrs[k.OWNER] = self.owner
        if self.tags:
            attrs[k.TAGS] = list(self.tags)
        return attrs


def run_context(*parts: str) -> Context:
    """A parent context whose trace id is derived from ``parts`` (e.g. DAG id and run id).

    Every process that works on the same run derives the same trace id without talking to the others, so a
    run is one trace. The parent span id is derived too; no span with that id is ever sent (Tempo shows the
    run's task spans under a "missing" root, which it handles).
    """
    digest = hashlib.sha256(_SEP.join(parts).encode("utf-8", "surrogatepass")).digest()
    # All-zero ids are invalid in OTLP; sha256 makes them practically impossible, "or 1" makes it certain.
    trace_id = int.from_bytes(digest[:16], "big") or 1
    span_id = int.from_bytes(digest[16:24], "big") or 1
    parent = SpanContext(trace_id=trace_id, span_id=span_id, is_remote=True,
                         trace_flags=TraceFlags(TraceFlags.SAMPLED))
    return trace.set_span_in_context(NonRecordingSpan(parent))


def run_trace_id(*parts: str) -> str:
    """The 32-hex-digit trace id ``run_context(*parts)`` gives its spans."""
    return format(trace.get_current_span(run_context(*parts)).get_span_context().trace_id, "032x")


def exception_type(error: BaseException) -> str:
    """The type as OTel's SDK names it in ``exception.type``: qualified, except for built-in exceptions."""
    cls = type(error)
    return cls.__qualname__ if cls.__module__ in (None, "builtins") else f"{cls.__module__}.{cls.__qualname__}"


def mark_failed(span: Span, error: BaseException | str | None, fallback: str = "failed") -> None:
    """Status ERROR plus the standard ``exception`` event (type, message, stack trace) when there is one.

    The stack trace starts at the user's code (see ``stacktrace``); the type is set here too, so every SDK
    version names it alike.
    """
    if isinstance(error, BaseException):
        span.record_exception(error, escaped=True, attributes={
            k.EXCEPTION_TYPE: exception_type(error), k.EXCEPTION_STACKTRACE: user_stacktrace(error)})
        description = f"{type(error).__name__}: {error}"
    elif error:
        # A failure known only by its message (e.g. Airflow's zombie detection hands callbacks a string).
        span.add_event(k.EXCEPTION_EVENT, {k.EXCEPTION_MESSAGE: str(error)})
        description = str(error)
    else:
        description = fallback
    span.set_status(Status(StatusCode.ERROR, description[:_MAX_STATUS_CHARS]))
