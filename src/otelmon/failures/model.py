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

    @property
    def identity_key(self) -> str:
        """One failing task try is one failure (docs/design.md): run identity when known, else the span's."""
        if self.run_id:
            return _digest("run", self.platform, self.group, self.process, self.run_id, self.try_number)
        if self.trace_id and self.span_id:
            return _digest("span", self.trace_id, self.span_id)
        return _digest("report", self.platform, self.group, self.process, self.idempotency_key)

    @property
    def fingerprint(self) -> str:
        """Stable across runs of the same step failing the same way; drives throttling and grouping."""
        return _digest(self.platform, self.group, self.process, self.error_type or "")[:16]
