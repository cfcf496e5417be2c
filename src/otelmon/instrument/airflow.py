"""Airflow task tries as OpenTelemetry spans (Airflow 3.x, Task SDK), three ways in:

1. the cluster policy: ``airflow_local_settings.task_policy`` calls :func:`instrument_task`, which adds the
   callbacks below to every task of every DAG. A DAG opts out with the tag ``otelmon:off``; a task, a DAG or
   a single run (its conf) opts out with the param ``otelmon_trace: false``;
2. the callbacks, for any operator: ``default_args=trace_log.default_args({"retries": 2})``;
3. ``@trace_log.traced`` under ``@task`` on a task callable, and ``with trace_log.step("name"):`` for
   sub-steps inside a task (both in ``otelmon.instrument.tracing``, which calls in here inside Airflow).

However many of these a task uses, a try yields one span, named after the task, that carries the failure
identity (platform ``airflow``, group = DAG id, process = task id, with ``[map index]`` for a mapped task,
run id, try number) and, for routes to receivers, the task's owner and the DAG's tags. A failed or retried
try ends with status ERROR and the ``exception`` event. All tasks of a DAG run share one trace, whose id is
derived from (DAG id, run id), so task processes agree on it without talking to each other. Sub-step spans
carry the same identity, and the try's span owns a failure that passes through them (see ``owner``), so a
failure inside a step and the task's own failure are one failure to OtelMon.

Nothing here may break a task: every callback swallows and logs its own errors, and the export after a
try is bounded (see ``provider.flush``).
"""

from __future__ import annotations

import functools
import logging
import socket
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from opentelemetry import context as otel_context

from otelmon.failures import attributes as k
from otelmon.failures import attributes as keys
from otelmon.instrument import log_tail
from otelmon.instrument.owner import Owner, current_owner, fail, is_control_flow, owner_context
from otelmon.instrument.provider import flush, get_tracer
from otelmon.instrument.spans import Identity, run_context

log = logging.getLogger("otelmon.instrument")

PLATFORM = "airflow"
OPT_OUT_TAG = "otelmon:off"
OPT_OUT_PARAM = "otelmon_trace"
SERVICE_NAME = "airflow"
_HOST = socket.gethostname()
# dag.test() and long-lived callback processors see many tries; remembering the last ones is enough to
# tell "already reported" apart, and the bound keeps memory flat.
_FINISHED_MEMORY = 4096

TryKey = tuple[str, str, str, int, int]


@dataclass(slots=True, eq=False)
class _Try(Owner):
    """A task try's span: the owner of every failure inside the try."""

    key: TryKey
    token: object | None = None


_active: dict[TryKey, _Try] = {}
_finished: OrderedDict[TryKey, None] = OrderedDict()


# --------------------------------------------------------------------------- callbacks
def on_execute(context: Mapping[str, Any]) -> None:
    """``on_execute_callback``: opens the try's span and makes it current for the task's own code."""
    _guard(_begin, context)


def on_success(context: Mapping[str, Any]) -> None:
    _guard(_finish, context, "success", failed=False)


def on_skipped(context: Mapping[str, Any]) -> None:
    _guard(_finish, context, "skipped", failed=False)


def on_retry(context: Mapping[str, Any]) -> None:
    """A try that failed and will be retried is a failure of its own (one row per failed try)."""
    _guard(_finish, context, keys.AIRFLOW_UP_FOR_RETRY, failed=True)


def on_failure(context: Mapping[str, Any]) -> None:
    """Also runs in Airflow's callback processor for tries killed from outside (no ``on_execute`` there):
    the span is then made after the fact from the task instance's start date."""
    _guard(_finish, context, "failed", failed=True)


CALLBACKS: dict[str, Callable[[Mapping[str, Any]], None]] = {
    "on_execute_callback": on_execute,
    "on_success_callback": on_success,
    "on_skipped_callback": on_skipped,
    "on_retry_callback": on_retry,
    "on_failure_callback": on_failure,
}


def default_args(args: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``args`` with the tracing callbacks added, keeping any callbacks already there."""
    merged = dict(args or {})
    for attr, callback in CALLBACKS.items():
        merged[attr] = _with_callback(merged.get(attr), callback)
    return merged


# --------------------------------------------------------------------------- cluster policy
def instrument_task(task: Any) -> None:
    """The cluster policy's body: add the callbacks to ``task`` unless its DAG or the task opted out.

    Idempotent: callbacks already present (e.g. from ``default_args``) are not added twice.
    """
    dag = getattr(task, "dag", None)
    if dag is not None and OPT_OUT_TAG in (getattr(dag, "tags", None) or ()):
        return
    if not tracing_enabled(getattr(task, "params", None)):
        return
    for attr, callback in CALLBACKS.items():
        setattr(task, attr, _with_callback(getattr(task, attr, None), callback))


def _with_callback(existing: Any, callback: Callable) -> list[Callable]:
    if existing is None:
        callbacks: list[Callable] = []
    elif callable(existing):
        callbacks = [existing]
    else:
        callbacks = list(existing)
    if callback not in callbacks:
        callbacks.append(callback)
    return callbacks


# --------------------------------------------------------------------------- internals
def _guard(fn: Callable[..., None], *args: Any, **kwargs: Any) -> None:
    try:
        fn(*args, **kwargs)
    except Exception:  # noqa: BLE001 - tracing must never change a task's outcome
        log.exception("OtelMon tracing failed; the task is not affected")


def _begin(context: Mapping[str, Any]) -> None:
    ti = context.get("ti")
    if ti is None or not tracing_enabled(context.get("params")):
        return
    key = _key(ti)
    if key in _active or key in _finished:
        return
    _start(context, ti, attach=True)


def _finish(context: Mapping[str, Any], state: str, *, failed: bool) -> None:
    ti = context.get("ti")
    if ti is None or not tracing_enabled(context.get("params")):
        return
    key = _key(ti)
    current = _active.get(key)
    if current is None:
        if key in _finished:
            return
        current = _start(context, ti, attach=False)
    current.span.set_attribute(keys.AIRFLOW_STATE, state)
    if state == keys.AIRFLOW_UP_FOR_RETRY:
        current.span.set_attribute(keys.WILL_RETRY, True)
    if failed:
        fail(current, context.get("exception"), fallback=f"task {state}")
    _end(current)


def _start(context: Mapping[str, Any], ti: Any, *, attach: bool) -> _Try:
    identity = try_identity(ti, context.get("task"))
    attrs = identity.attributes()
    attrs.update(_airflow_attributes(context, ti))
    span = get_tracer(SERVICE_NAME).start_span(
        identity.process,
        context=run_context(ti.dag_id, ti.run_id),
        attributes=attrs,
        start_time=_nanos(getattr(ti, "start_date", None)),
    )
    current = _Try(identity, span, key=_key(ti))
    if attach:
        current.token = otel_context.attach(owner_context(current))
        # Only a try whose code runs here has lines to keep (not one reported after the fact).
        current.log_capture = log_tail.start()
    _active[current.key] = current
    return current


def _end(current: _Try) -> None:
    log_tail.stop(current.log_capture)
    current.span.end()
    _active.pop(current.key, None)
    # Detach only our own context: a callback run elsewhere (another thread) must not pop someone else's.
    if current.token is not None and current_owner() is current:
        otel_context.detach(current.token)
    _finished[current.key] = None
    while len(_finished) > _FINISHED_MEMORY:
        _finished.popitem(last=False)
    flush()


def call_in_task_try(fn: Callable, airflow_context: Mapping[str, Any], args: tuple, kwargs: dict) -> Any:
    """``@traced`` inside a task: the try's span, unless the policy or the callbacks made it already."""
    ti = airflow_context["ti"]
    key = _key(ti)
    if key in _active or key in _finished or not tracing_enabled(airflow_context.get("params")):
        return fn(*args, **kwargs)
    try:
        current = _start(airflow_context, ti, attach=True)
    except Exception:  # noqa: BLE001 - run the task untraced rather than not at all
        log.exception("OtelMon tracing failed; the task runs untraced")
        return fn(*args, **kwargs)
    try:
        result = fn(*args, **kwargs)
    except BaseException as exc:
        _guard(_end_after_exception, current, exc, ti)
        raise
    _guard(_end, current)
    return result


def _end_after_exception(current: _Try, exc: BaseException, ti: Any) -> None:
    if not is_control_flow(exc):
        if will_retry(ti):
            current.span.set_attribute(keys.WILL_RETRY, True)
        fail(current, exc)
    _end(current)


def will_retry(ti: Any) -> bool:
    """Whether Airflow will try this failing task instance again, as it decides, for a span that ends before
    Airflow's callbacks run (``@traced`` alone). The Task SDK holds the API server's answer
    (``should_retry``); without it, Airflow's own rule: this try is not past ``max_tries`` (retries plus
    earlier clears). The callbacks know for sure: ``on_retry_callback`` runs for up_for_retry only."""
    context = getattr(ti, "_ti_context_from_server", None)
    decided = getattr(context, "should_retry", None)
    if isinstance(decided, bool):
        return decided
    max_tries, try_number = getattr(ti, "max_tries", None), getattr(ti, "try_number", None)
    return isinstance(max_tries, int) and isinstance(try_number, int) and 0 < try_number <= max_tries


def try_identity(ti: Any, task: Any = None) -> Identity:
    """The try's identity; owner and tags from ``task`` (the context's, in a callback) or the ``ti``'s own."""
    map_index = _map_index(ti)
    # Mapped instances of one task fail independently: each is its own process in OtelMon's identity,
    # named as Airflow names their spans and UI entries ("task[3]").
    process = ti.task_id if map_index < 0 else f"{ti.task_id}[{map_index}]"
    task = task if task is not None else getattr(ti, "task", None)
    owner = getattr(task, "owner", None)
    return Identity(PLATFORM, ti.dag_id, process, ti.run_id, int(ti.try_number),
                    owner=owner.strip() or None if isinstance(owner, str) else None, tags=_dag_tags(task))


def _dag_tags(task: Any) -> tuple[str, ...]:
    """The DAG's tags, sorted (Airflow keeps them as a set), for routes that match on a tag."""
    tags = getattr(getattr(task, "dag", None), "tags", None) or ()
    try:
        return tuple(sorted({str(tag) for tag in tags if str(tag).strip()}))
    except TypeError:  # not iterable: an odd DAG object must not stop tracing
        return ()


def _key(ti: Any) -> TryKey:
    return (ti.dag_id, ti.task_id, ti.run_id, _map_index(ti), int(ti.try_number))


def _map_index(ti: Any) -> int:
    value = getattr(ti, "map_index", None)
    return -1 if value is None else int(value)


def _airflow_attributes(context: Mapping[str, Any], ti: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        keys.AIRFLOW_DAG_ID: ti.dag_id,
        keys.AIRFLOW_TASK_ID: ti.task_id,
        keys.AIRFLOW_RUN_ID: ti.run_id,
        keys.AIRFLOW_TRY_NUMBER: int(ti.try_number),
        keys.AIRFLOW_MAP_INDEX: _map_index(ti),
        k.HOST_NAME: getattr(ti, "hostname", None) or _HOST,
    }
    task = context.get("task") or getattr(ti, "task", None)
    operator = getattr(task, "operator_name", None) or getattr(task, "task_type", None)
    if operator:
        attrs[keys.AIRFLOW_OPERATOR] = str(operator)
    logical_date = context.get("logical_date")
    if isinstance(logical_date, datetime):  # None for runs without one (allowed since Airflow 3)
        attrs[keys.AIRFLOW_LOGICAL_DATE] = logical_date.isoformat()
    return attrs


def tracing_enabled(params: Any) -> bool:
    if not params:
        return True
    try:
        value = params.get(OPT_OUT_PARAM, True)
    except Exception:  # noqa: BLE001 - an odd params object must not stop tracing
        return True
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "0", "no", "off")
    return value is not False


def _nanos(moment: Any) -> int | None:
    return int(moment.timestamp() * 1_000_000) * 1000 if isinstance(moment, datetime) else None


@functools.cache
def _context_getter() -> Callable[[], Mapping[str, Any]] | None:
    try:
        from airflow.sdk import get_current_context
    except ImportError:
        return None
    return get_current_context


def airflow_context() -> Mapping[str, Any] | None:
    """The running task's context, or None outside an Airflow task (or without Airflow installed)."""
    getter = _context_getter()
    if getter is None:
        return None
    try:
        found = getter()
    except RuntimeError:
        return None
    return found if found.get("ti") is not None else None
