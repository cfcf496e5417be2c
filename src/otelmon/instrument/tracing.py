"""What a job's own code calls: ``@traced`` on a function and ``with step("name"):`` around a part of it.

Inside an Airflow task both report the task try (see ``airflow``); anywhere else the outermost call is one
try of a plain Python job (see ``job`` for its identity). Either way the outermost span owns the failure
and nested ones are its steps (see ``owner``). Tracing never changes what the wrapped code does: an error
of ours is logged and the code runs untraced.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span

from otelmon.failures.attributes import WILL_RETRY
from otelmon.instrument import airflow, log_tail
from otelmon.instrument.job import job_identity
from otelmon.instrument.owner import Owner, current_owner, fail, is_control_flow, owner_context, step_under
from otelmon.instrument.provider import flush, get_tracer
from otelmon.instrument.spans import Identity, run_context

log = logging.getLogger("otelmon.instrument")

F = TypeVar("F", bound=Callable[..., Any])


def traced(fn: F | None = None, *, name: str | None = None, platform: str | None = None,
           group: str | None = None, process: str | None = None, run_id: str | None = None,
           try_number: int | None = None, will_retry: bool | None = None) -> Any:
    """Decorate a function so each call is a span that reports its failure to OtelMon.

    Outside Airflow the outermost call is one try of a plain job, identified by the arguments here, then
    ``configure()``, the ``OTELMON_*`` variables and the defaults (see ``job``; ``will_retry=True``: whatever
    runs the job tries again if this call fails, so its failure is marked as one that will be retried); a
    traced function called
    from inside another traced call or a step is a step of that try. Inside an Airflow task (below
    ``@task``) the task try is the identity and these arguments are ignored.
    """
    if fn is None:
        return functools.partial(traced, name=name, platform=platform, group=group, process=process,
                                 run_id=run_id, try_number=try_number, will_retry=will_retry)
    if hasattr(fn, "override") and hasattr(fn, "function"):
        raise TypeError("@traced goes below @task (it decorates the task's function, not the task)")
    label = name or fn.__qualname__
    explicit = {"platform": platform, "group": group, "process": process, "run_id": run_id,
                "try_number": try_number, "will_retry": will_retry}

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        airflow_context = airflow.airflow_context()
        if airflow_context is not None:
            return airflow.call_in_task_try(fn, airflow_context, args, kwargs)
        with _traced_call(label, explicit):
            return fn(*args, **kwargs)

    return wrapper


@contextmanager
def step(name: str, **attributes: Any) -> Iterator[Span]:
    """A span for a part of the current try; an exception marks it ERROR and propagates unchanged.

    Under a traced call or task try it is a step of that try; alone, it is a try of its own (process =
    ``name``), whose own nested steps are its steps.
    """
    with _entered(lambda: _open_step(name, attributes), "the step") as span:
        yield span


@contextmanager
def _traced_call(label: str, explicit: Mapping[str, Any]) -> Iterator[Span]:
    if current_owner() is not None:
        with step(label) as span:
            yield span
        return
    with _entered(lambda: _owned(get_tracer(), label, job_identity(label, **explicit), None, {}), label) as span:
        yield span


@contextmanager
def _entered(open_span: Callable[[], Any], what: str) -> Iterator[Span]:
    """The span context manager ``open_span`` gives, entered; INVALID_SPAN when it gives none (tracing opted
    out). Tracing that fails lets the code run untraced rather than not at all."""
    try:
        opened = open_span()
    except Exception:  # noqa: BLE001 - the user's code must run whatever tracing does
        log.exception("OtelMon tracing failed; %s runs untraced", what)
        opened = None
    if opened is None:
        yield trace.INVALID_SPAN
        return
    with opened as span:
        yield span


def _open_step(name: str, attributes: Mapping[str, Any]) -> Any:
    """The step's span context manager, or None when the Airflow task opted out of tracing."""
    owner = current_owner()
    if owner is not None:
        # The owner's span built the tracer already, with its own default service name.
        return step_under(owner, get_tracer(), name, attributes)
    # Alone, the step is the try's own span: no ``otelmon.step`` on it, which marks spans inside a try (the
    # collector forwards a try's span whatever its status, and leaves its steps out).
    airflow_context = airflow.airflow_context()
    if airflow_context is None:
        return _owned(get_tracer(), name, job_identity(name), None, attributes)
    if not airflow.tracing_enabled(airflow_context.get("params")):
        return None
    ti = airflow_context["ti"]
    return _owned(get_tracer(airflow.SERVICE_NAME), name, airflow.try_identity(ti),
                  run_context(ti.dag_id, ti.run_id), attributes)


@contextmanager
def _owned(tracer: trace.Tracer, name: str, identity: Identity, parent: Context | None,
           attributes: Mapping[str, Any]) -> Iterator[Span]:
    """The span of a try's outermost call: it reports the try's failure, naming the steps as causes."""
    span = tracer.start_span(name, context=parent, attributes={**identity.attributes(), **attributes})
    owner = Owner(identity, span)
    token = otel_context.attach(owner_context(owner))
    owner.log_capture = log_tail.start()
    failed = False
    try:
        yield span
    except BaseException as exc:
        if not is_control_flow(exc):
            failed = True
            try:
                if identity.will_retry:
                    span.set_attribute(WILL_RETRY, True)
                fail(owner, exc)
            except Exception:  # noqa: BLE001 - the job's own exception is the one to raise
                log.exception("OtelMon could not record the failure of %s", name)
        raise
    finally:
        log_tail.stop(owner.log_capture)
        otel_context.detach(token)
        span.end()
        if failed:
            # A failing job often exits next: its alert should not wait for the batch schedule.
            flush()
