"""The run record: one task try and how it ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from otelmon.failures.model import pipeline_key, try_identity_key

SUCCESS = "success"
FAILED = "failed"
# Failed, and the scheduler will try again: not yet a failure of the run.
FAILED_WILL_RETRY = "failed_will_retry"
OUTCOMES = (SUCCESS, FAILED, FAILED_WILL_RETRY)


@dataclass(slots=True)
class Run:
    platform: str
    group: str
    process: str
    start_time: datetime  # naive UTC, microsecond precision
    end_time: datetime
    outcome: str
    run_id: str | None = None
    try_number: int | None = None
    trace_id: str | None = None
    span_id: str | None = None
    # The failure's fingerprint when the try failed.
    fingerprint: str | None = None

    @property
    def identity_key(self) -> str:
        """The same key as the try's failure: a redelivered try is stored once, and a failed run finds its
        failure row by it."""
        return try_identity_key(self.platform, self.group, self.process, self.run_id, self.try_number,
                                self.trace_id, self.span_id)

    @property
    def pipeline_key(self) -> str:
        return pipeline_key(self.platform, self.group, self.process)
