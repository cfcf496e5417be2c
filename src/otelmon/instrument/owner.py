"""Which span reports a failure, and what becomes of the steps an exception passes through on its way out.

One try of one pipeline step has one owner span: an Airflow task try's span, the outermost ``@traced`` call
or the outermost ``step()``. A step nested under an owner that fails is ERROR with the ``exception`` event
(Tempo shows where it happened) and ``otelmon.error.propagated=true``: the exception left the step into the
owner's code, and the owner decides. If the owner fails, its span lists those steps as the failure's causes
(``otelmon.cause.*``); if the job handled the error, the try did not fail. Ingest stores no propagated span,
so one exception is one failure in the API, the alert and the digest.

Why this is decided here and not at ingest: only the process running the code sees one exception travel
through nested spans. Ingest gets spans in any order and batch (the owner's span may arrive after a step's
was stored and alerted), so grouping there would mean holding spans back or rewriting stored failures. The
flag is ours alone: an ERROR span of any other instrumentation is still a failure of its own.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span

from otelmon.failures import attributes as k
from otelmon.instrument import log_tail
from otelmon.instrument.spans import Identity, exception_type, mark_failed

_OWNER_KEY = otel_context.create_key("otelmon-owner")
# Causes travel on the owner's span and in the failure's stored attributes: a few short lines, not logs.
MAX_CAUSES = 20
CAUSE_MESSAGE_CHARS = 1024
# How far a "raise ... from ..." chain is followed to tell a step's exception from an unrelated one.
_MAX_CHAIN = 50
_CONTROL_FLOW_NAMES = frozenset(
    {"AirflowSkipException", "AirflowRescheduleException", "TaskDeferred", "TaskAwaitingInput",
     "DownstreamTasksSkipped", "DagRunTriggerException"}
)


@dataclass(slots=True, eq=False)
class Owner:
    """The span that reports one try's failure, and the steps whose exception escaped into its code."""

    identity: Identity
    span: Span
    failed_steps: list[tuple[str, BaseException]] = field(default_factory=list, init=False)
    # The lines logged during the try (None: not captured here, e.g. a try reported after the fact).
    log_capture: log_tail.Capture | None = field(default=None, init=False)


def current_owner() -> Owner | None:
    found = otel_context.get_value(_OWNER_KEY)
    return found if isinstance(found, Owner) else None


def owner_context(owner: Owner) -> Context:
    """The context in which code runs under ``owner``: its span current, steps able to find it."""
    return otel_context.set_value(_OWNER_KEY, owner, trace.set_span_in_context(owner.span))


def is_control_flow(error: BaseException) -> bool:
    # Airflow steers a task with these (skip, defer, reschedule, trigger a run); none is a failure.
    # Matched by name so nothing here imports Airflow.
    return any(cls.__name__ in _CONTROL_FLOW_NAMES for cls in type(error).__mro__)


def fail(owner: Owner, error: BaseException | str | None, fallback: str = "failed") -> None:
    """Mark the owner's span failed, listing as causes the steps its exception passed through and carrying
    the last lines the try logged."""
    mark_failed(owner.span, error, fallback)
    log_tail.attach(owner.span, owner.log_capture)
    causes = _causes(owner.failed_steps, error)
    if causes:
        owner.span.set_attributes({
            k.CAUSE_STEPS: [name for name, _ in causes],
            k.CAUSE_TYPES: [exception_type(exc) for _, exc in causes],
            k.CAUSE_MESSAGES: [str(exc)[:CAUSE_MESSAGE_CHARS] for _, exc in causes],
        })


def _causes(steps: list[tuple[str, BaseException]], error: BaseException | str | None) -> list:
    if isinstance(error, BaseException):
        # Steps whose exception is this one, or one it was raised from: a step error the job handled
        # before failing otherwise is no cause of this failure.
        chain: set[int] = set()
        pending: list[BaseException] = [error]
        while pending and len(chain) < _MAX_CHAIN:
            current = pending.pop()
            if id(current) not in chain:
                chain.add(id(current))
                pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        steps = [(name, exc) for name, exc in steps if id(exc) in chain]
    # Inner steps end first; the email reads from the outside in.
    return steps[::-1][:MAX_CAUSES]


@contextmanager
def step_under(owner: Owner, tracer: trace.Tracer, name: str, attributes: Mapping[str, Any]) -> Iterator[Span]:
    """A child span of the current one for a step of ``owner``'s try, carrying the try's identity."""
    attrs: dict[str, Any] = {**owner.identity.attributes(), k.STEP: name, **attributes}
    with tracer.start_as_current_span(name, attributes=attrs, record_exception=False,
                                      set_status_on_exception=False) as span:
        try:
            yield span
        except BaseException as exc:
            if not is_control_flow(exc):
                mark_failed(span, exc)
                span.set_attribute(k.ERROR_PROPAGATED, True)
                owner.failed_steps.append((name, exc))
            raise
