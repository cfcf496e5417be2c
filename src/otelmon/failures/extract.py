"""Spans with status ERROR become failures, task-level spans (whatever their status) runs; every other span is
dropped as cheaply as possible."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from otelmon.failures import attributes as k
from otelmon.failures.log_tail import stored_tail
from otelmon.failures.model import Failure
from otelmon.failures.values import (
    as_int,
    as_text,
    attributes_to_dict,
    from_unix_nanos,
    parse_time,
)
from otelmon.runs import task_span
from otelmon.runs.model import FAILED, FAILED_WILL_RETRY, SUCCESS, Run

STATUS_ERROR = Status.STATUS_CODE_ERROR
_MAX_REASONS = 5


class InvalidSpan(ValueError):
    """An ERROR span we cannot store; it is counted in ``partial_success`` instead."""


@dataclass(slots=True)
class Extraction:
    failures: list[Failure] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    spans_seen: int = 0
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)

    def reject(self, reason: str) -> None:
        self.rejected += 1
        if len(self.reasons) < _MAX_REASONS:
            self.reasons.append(reason)


def extract_failures(request: ExportTraceServiceRequest) -> Extraction:
    result = Extraction()
    for resource_spans in request.resource_spans:
        resource: dict[str, Any] | None = None
        for scope_spans in resource_spans.scope_spans:
            spans = scope_spans.spans
            result.spans_seen += len(spans)
            for span in spans:
                if span.status.code != STATUS_ERROR and not any(kv.key in task_span.KEYS for kv in span.attributes):
                    continue
                if resource is None:
                    resource = attributes_to_dict(resource_spans.resource.attributes)
                try:
                    failure, run = records_from_span(span, resource)
                except InvalidSpan as exc:
                    result.reject(str(exc))
                    continue
                if failure is not None:
                    result.failures.append(failure)
                if run is not None:
                    result.runs.append(run)
    return result


class _Lookup:
    """Attribute lookup: span first, then resource (docs/design.md)."""

    __slots__ = ("span", "resource")

    def __init__(self, span: dict[str, Any], resource: dict[str, Any]) -> None:
        self.span = span
        self.resource = resource

    def text(self, *keys: str) -> str | None:
        for key in keys:
            value = as_text(self.span.get(key))
            if value is None:
                value = as_text(self.resource.get(key))
            if value is not None:
                return value
        return None

    def raw(self, *keys: str) -> Any:
        for key in keys:
            for source in (self.span, self.resource):
                value = source.get(key)
                if value is not None and value != "":
                    return value
        return None


def failure_from_span(span: Span, resource: dict[str, Any]) -> Failure | None:
    """The failure an ERROR span reports, or None when the span is ERROR without a failure behind it."""
    return records_from_span(span, resource)[0]


def records_from_span(span: Span, resource: dict[str, Any]) -> tuple[Failure | None, Run | None]:
    """The failure an ERROR span reports and the run a task-level span records (either, both or neither)."""
    if len(span.trace_id) != 16 or not any(span.trace_id):
        raise InvalidSpan(f"span {span.name!r}: trace id must be 16 non-zero bytes")
    if len(span.span_id) != 8 or not any(span.span_id):
        raise InvalidSpan(f"span {span.name!r}: span id must be 8 non-zero bytes")
    attrs = attributes_to_dict(span.attributes)
    # Kept in a column of its own (its newest lines, bounded), not among the attributes clipped per value.
    log_tail = stored_tail(attrs.pop(k.LOG_TAIL, None))
    error = span.status.code == STATUS_ERROR
    is_task = task_span.is_task_span(attrs)
    if not (error or is_task):
        return None, None
    look = _Lookup(attrs, resource)
    state = look.text(k.AIRFLOW_STATE)
    if state in k.AIRFLOW_NOT_FAILED_STATES:
        # Skipped and the like: neither a failure nor a run that says anything about the step's health.
        return None, None
    if error and attrs.get(k.ERROR_PROPAGATED) is True:
        # Our step whose exception went on into an enclosing span of the same try: that span reports the
        # failure and lists this step as its cause (otelmon.instrument.owner says why it is decided there).
        return None, None

    platform, group, process, run_id, try_number = _identity(span, look)
    start = from_unix_nanos(span.start_time_unix_nano) or parse_time(look.raw(k.LEGACY_START_TIME))
    end = from_unix_nanos(span.end_time_unix_nano) or parse_time(look.raw(k.LEGACY_END_TIME))
    if start is None and end is None:
        raise InvalidSpan(f"span {span.name!r}: no start or end time")
    start = start or end
    end = end or start
    will_retry = error and (_is_true(look.raw(k.WILL_RETRY)) or state == k.AIRFLOW_UP_FOR_RETRY)
    trace_id, span_id = span.trace_id.hex(), span.span_id.hex()

    failure = None
    if error:
        error_type, error_message, stacktrace = _exception_details(span)
        failure = Failure(
            platform=platform,
            group=group,
            process=process,
            span_name=span.name or process,
            start_time=start,
            end_time=end,
            run_id=run_id,
            try_number=try_number,
            trace_id=trace_id,
            span_id=span_id,
            parent_span_id=span.parent_span_id.hex() if len(span.parent_span_id) == 8 else None,
            service_name=as_text(resource.get(k.SERVICE_NAME)),
            host=look.text(k.HOST_NAME),
            error_type=error_type or look.text(k.LEGACY_ERROR_TYPE),
            error_message=error_message or as_text(span.status.message) or look.text(k.LEGACY_ERROR),
            stacktrace=stacktrace or look.text(k.LEGACY_STACKTRACE),
            attributes={"resource": resource, "span": attrs} if resource else {"span": attrs},
            log_tail=log_tail,
            will_retry=will_retry,
        )
    run = None
    if is_task:
        outcome = SUCCESS if failure is None else FAILED_WILL_RETRY if will_retry else FAILED
        # Interned: a request may hold thousands of tries of a few steps, kept until they are stored.
        run = Run(platform=sys.intern(platform), group=sys.intern(group), process=sys.intern(process),
                  start_time=start, end_time=end,
                  outcome=outcome, run_id=run_id, try_number=try_number, trace_id=trace_id, span_id=span_id,
                  fingerprint=failure.fingerprint if failure is not None else None)
    return failure, run


def _identity(span: Span, look: _Lookup) -> tuple[str, str, str, str | None, int | None]:
    """(platform, group, process, run id, try number), first match wins (docs/design.md)."""
    airflow_task = look.text(k.AIRFLOW_TASK_ID)
    airflow = airflow_task is not None and look.text(k.AIRFLOW_DAG_ID) is not None
    if airflow:
        # A mapped instance is its own task try: "task[3]", as Airflow names it and trace_log does.
        map_index = as_int(look.raw(k.AIRFLOW_MAP_INDEX))
        if map_index is not None and map_index >= 0:
            airflow_task = f"{airflow_task}[{map_index}]"
    nifi = look.text(*k.NIFI_PROCESS_GROUP, *k.NIFI_PROCESSOR) is not None
    platform = (
        look.text(k.PLATFORM)
        or ("airflow" if airflow else None)
        or ("nifi" if nifi else None)
        or look.text(k.LEGACY_PLATFORM)
        or k.FALLBACK_PLATFORM
    )
    group = (
        look.text(k.GROUP)
        or (look.text(k.AIRFLOW_DAG_ID) if airflow else None)
        or look.text(*k.NIFI_PROCESS_GROUP)
        or look.text(k.LEGACY_GROUP)
        or look.text(k.SERVICE_NAME)
        or "unknown"
    )
    process = (
        look.text(k.PROCESS)
        or (airflow_task if airflow else None)
        or look.text(*k.NIFI_PROCESSOR)
        or look.text(k.LEGACY_PROCESS)
        or span.name
        or "unknown"
    )
    run_id = look.text(k.RUN_ID) or (look.text(k.AIRFLOW_RUN_ID) if airflow else None)
    try_number = as_int(look.raw(k.TRY_NUMBER))
    if try_number is None and airflow:
        try_number = as_int(look.raw(k.AIRFLOW_TRY_NUMBER))
    return platform, group, process, run_id, try_number


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _exception_details(span: Span) -> tuple[str | None, str | None, str | None]:
    # The last exception event is the one that ended the span; earlier ones may have been handled.
    for event in reversed(span.events):
        if event.name == k.EXCEPTION_EVENT:
            details = attributes_to_dict(event.attributes)
            return (
                as_text(details.get(k.EXCEPTION_TYPE)),
                as_text(details.get(k.EXCEPTION_MESSAGE)),
                as_text(details.get(k.EXCEPTION_STACKTRACE)),
            )
    return None, None, None
