"""Request and response bodies of the JSON API."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from otelmon.clock import utcnow
from otelmon.failures.model import Failure
from otelmon.failures.values import to_naive_utc

_HEX32 = r"^[0-9a-fA-F]{32}$"
_HEX16 = r"^[0-9a-fA-F]{16}$"

# Row ids are BIGINT: a larger number in a path or query is a 422, not a driver overflow.
MAX_ID = 2**63 - 1


def _as_utc(moment: datetime) -> datetime:
    # Stored times are naive UTC; answering them with their offset (serialised as "Z") leaves no client guessing.
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_STORABLE_FROM = datetime(1000, 1, 1)  # MariaDB's DATETIME holds 1000-01-01 to 9999-12-31


def _iso_text(value: Any) -> Any:
    # pydantic would also take a number as seconds since 1970; the contract (and OpenAPI) says ISO 8601.
    if isinstance(value, datetime) or (isinstance(value, str) and _ISO_DATE.match(value)):
        return value
    raise ValueError("expected an ISO 8601 time, e.g. 2026-11-22T01:00:00Z")


def _storable(moment: datetime) -> datetime:
    if moment < _STORABLE_FROM:
        raise ValueError("time before 1000-01-01, which the database cannot hold")
    return moment


UtcDateTime = Annotated[datetime, AfterValidator(_as_utc)]
"""A time in an answer: always with its offset, ``Z``."""

QueryDateTime = Annotated[datetime, BeforeValidator(_iso_text), AfterValidator(to_naive_utc)]
"""A time in a query: ISO 8601, UTC when it has no zone, converted to the naive UTC the database holds. A
moment whose UTC is outside years 1..9999 becomes the nearest end: as a filter, "from the start" or "to the
end"; a time to be stored is then refused by _storable."""

ReportedDateTime = Annotated[QueryDateTime, AfterValidator(_storable)]
"""A time to be stored: as a query's, and within the range of a DATETIME column."""


class FailureReport(BaseModel):
    """A failure reported by something that does not speak OTLP (a shell script, a cron job)."""

    model_config = ConfigDict(extra="forbid")

    platform: str = Field(min_length=1, max_length=64, examples=["airflow"])
    group: str = Field(min_length=1, max_length=255, examples=["daily_sales"])
    process: str = Field(min_length=1, max_length=255, examples=["load"])
    run_id: str | None = Field(None, max_length=255, description="With run_id, retries of the report are idempotent")
    try_number: int | None = Field(None, ge=0, le=2**31 - 1)  # an INT column
    error_type: str | None = Field(None, max_length=255)
    error_message: str | None = Field(None, max_length=65536)
    stacktrace: str | None = Field(None, max_length=1048576)
    start_time: ReportedDateTime | None = Field(None, description="ISO 8601; without a zone it is taken as UTC")
    end_time: ReportedDateTime | None = None
    trace_id: str | None = Field(None, pattern=_HEX32)
    span_id: str | None = Field(None, pattern=_HEX16)
    host: str | None = Field(None, max_length=255)
    idempotency_key: str | None = Field(
        None, max_length=255, description="Makes retries idempotent when there is no run_id or span id"
    )
    attributes: dict[str, str | int | float | bool | None] = Field(default_factory=dict, max_length=256)
    will_retry: bool = Field(False, description="The scheduler will try again: alerting may hold the failure")

    def to_failure(self) -> Failure:
        now = utcnow()
        end = self.end_time or self.start_time or now  # naive UTC already (ReportedDateTime)
        start = self.start_time or end
        return Failure(
            platform=self.platform,
            group=self.group,
            process=self.process,
            span_name=self.process,
            start_time=start,
            end_time=end,
            run_id=self.run_id,
            try_number=self.try_number,
            trace_id=self.trace_id.lower() if self.trace_id else None,
            span_id=self.span_id.lower() if self.span_id else None,
            host=self.host,
            error_type=self.error_type,
            error_message=self.error_message,
            stacktrace=self.stacktrace,
            attributes={"report": dict(self.attributes)},
            idempotency_key=self.idempotency_key
            or f"{start.isoformat()}|{self.error_type}|{self.error_message}",
            will_retry=self.will_retry,
        )


class ReportAccepted(BaseModel):
    id: int
    created: bool


class FailureSummary(BaseModel):
    id: int
    fingerprint: str
    platform: str
    group: str
    process: str
    run_id: str | None
    try_number: int | None
    trace_id: str | None
    span_id: str | None
    service_name: str | None
    span_name: str
    host: str | None
    error_type: str | None
    error_message: str | None
    start_time: UtcDateTime
    end_time: UtcDateTime
    duration_seconds: float
    received_at: UtcDateTime
    digest_id: int | None
    will_retry: bool = Field(False, description="The failing try will be retried by its scheduler")
    trace_url: str | None = None
    silenced: bool = Field(False, description="An active silence or acknowledgement held its alert back")
    silence_id: int | None = Field(None, description="The silence that held it back")


IssueState = Literal["new", "ongoing", "resolved", "regressed"]


class IssueSummary(BaseModel):
    """The life of one fingerprint (docs/design.md, "Pipeline runs, issues and the alert policy")."""

    id: int
    fingerprint: str
    state: IssueState
    platform: str
    group: str
    process: str
    error_type: str | None
    last_failure_id: int | None
    first_seen: UtcDateTime
    last_seen: UtcDateTime
    occurrences: int
    consecutive_failed_runs: int = Field(description="Failed runs since the issue (re)opened; a try that will be "
                                                     "retried does not count")
    failing_since: UtcDateTime | None = Field(description="End of the first failure since it (re)opened; "
                                                          "null while resolved")
    resolved_at: UtcDateTime | None = Field(description="End of the successful run that resolved it")
    last_run_outcome: Literal["success", "failed", "failed_will_retry"] | None
    state_changed_at: UtcDateTime


class IssuePage(BaseModel):
    items: list[IssueSummary]
    next_cursor: str | None = Field(None, description="Pass as ?cursor= to get the next (older) page")


class IssueQuery(BaseModel):
    """The filters of ``GET /api/v1/issues``; an unknown parameter is a 422."""

    model_config = ConfigDict(extra="forbid")

    state: IssueState | None = None
    platform: str | None = None
    group: str | None = None
    process: str | None = None
    limit: int = Field(100, ge=1, le=500)
    cursor: str | None = Field(None, description="next_cursor of the previous page")


class FailureDetail(FailureSummary):
    parent_span_id: str | None
    stacktrace: str | None
    attributes: dict[str, Any]
    log_tail: list[str] | None = Field(
        None, description="The last lines the failing try logged, secrets masked, oldest first; "
                          "null when its span carried none")
    issue: IssueSummary | None = Field(None, description="The issue of this failure's fingerprint: its state "
                                                         "and since when it fails")


class FailurePage(BaseModel):
    items: list[FailureSummary]
    next_cursor: str | None = Field(None, description="Pass as ?cursor= to get the next (older) page")


class FailureQuery(BaseModel):
    """The filters of ``GET /api/v1/failures``; an unknown parameter is a 422, not silently ignored."""

    model_config = ConfigDict(extra="forbid")

    since: QueryDateTime | None = Field(None, description="end_time >= since (ISO 8601, UTC if no zone)")
    until: QueryDateTime | None = Field(None, description="end_time < until")
    platform: str | None = None
    group: str | None = None
    process: str | None = None
    limit: int = Field(100, ge=1, le=500)
    cursor: str | None = Field(None, description="next_cursor of the previous page")


class Problem(BaseModel):
    """FastAPI's error body."""

    detail: str


class RpcStatus(BaseModel):
    """The error body of the OTLP receiver, the size cap and a database outage: google.rpc.Status as JSON
    (as protobuf for protobuf requests)."""

    code: int
    message: str
