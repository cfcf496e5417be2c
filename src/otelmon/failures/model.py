"""The failure record: one failing task try, however many spans or deliveries reported it."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

_SEP = "\x1f"  # cannot appear in a sensible name, so ("a b", "c") and ("a", "b c") hash apart


def _digest(*parts: object) -> str:
    text = _SEP.join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def try_identity_key(platform: str, group: str, process: str, run_id: str | None, try_number: int | None,
                     trace_id: str | None, span_id: str | None, idempotency_key: str | None = None) -> str:
    """One task try, however many spans or deliveries report it (docs/design.md, "What a failure is"): its run
    identity when known, else the span's. A failed try's failure and its run share this key."""
    if run_id:
        return _digest("run", platform, group, process, run_id, try_number)
    if trace_id and span_id:
        return _digest("span", trace_id, span_id)
    return _digest("report", platform, group, process, idempotency_key)


def pipeline_key(platform: str, group: str, process: str) -> str:
    """One pipeline step, whatever its errors: a success of it resolves every open issue it has."""
    return _digest("pipeline", platform, group, process)[:16]


@dataclass(slots=True)
class Failure:
    platform: str
    group: str
    process: str
    span_name: str
    start_time: datetime  # naive UTC, microsecond precision
    end_time: datetime
    run_id: str | None = None
    try_number: int | None = None
    trace_id: str | None = None  # 32 lower-case hex digits
    span_id: str | None = None  # 16 lower-case hex digits
    parent_span_id: str | None = None
    service_name: str | None = None
    host: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    stacktrace: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    # The last lines the try logged, masked by the instrumentation, oldest first (failures.log_tail).
    log_tail: str | None = None
    # For reports that carry neither a run id nor span ids (see FailureReport).
    idempotency_key: str | None = None
    # The scheduler will try again (``otelmon.will_retry``, Airflow's up_for_retry): alerting may hold it.
    will_retry: bool = False

    @property
    def identity_key(self) -> str:
        """One failing task try is one failure (docs/design.md): run identity when known, else the span's."""
        return try_identity_key(self.platform, self.group, self.process, self.run_id, self.try_number,
                                self.trace_id, self.span_id, self.idempotency_key)

    @property
    def fingerprint(self) -> str:
        """Stable across runs of the same step failing the same way; drives throttling and grouping."""
        return _digest(self.platform, self.group, self.process, self.error_type or "")[:16]
