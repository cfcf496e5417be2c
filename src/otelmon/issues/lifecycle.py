"""An issue's transitions as pure functions: what a new failure or a successful run does to it.

Events may arrive out of order (a collector's queue drains after an outage), so each transition compares
event times, not arrival: a success older than the issue's latest failure resolves nothing, and a failure
older than the success that resolved the issue counts as an occurrence without reopening it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from otelmon.runs.model import FAILED, FAILED_WILL_RETRY, SUCCESS

NEW, ONGOING, RESOLVED, REGRESSED = "new", "ongoing", "resolved", "regressed"
STATES = (NEW, ONGOING, RESOLVED, REGRESSED)
OPEN = (NEW, ONGOING, REGRESSED)


@dataclass(frozen=True, slots=True)
class FailureSeen:
    """A failure stored for the first time (not a redelivery)."""

    failure_id: int
    fingerprint: str
    pipeline_key: str
    platform: str
    group: str
    process: str
    error_type: str | None
    end_time: datetime
    will_retry: bool


@dataclass(frozen=True, slots=True)
class Issue:
    fingerprint: str
    pipeline_key: str
    state: str
    platform: str
    group: str
    process: str
    error_type: str | None
    last_failure_id: int | None
    first_seen: datetime
    last_seen: datetime
    occurrences: int
    consecutive_failed_runs: int
    failing_since: datetime | None
    resolved_at: datetime | None
    last_run_outcome: str | None
    state_changed_at: datetime


def on_failure(issue: Issue | None, failure: FailureSeen, now: datetime) -> Issue:
    """A new failure of the issue's fingerprint: opens it (new), reopens it (regressed) or keeps it open
    (ongoing). A try that will be retried is an occurrence but not a failed run."""
    failed_runs = 0 if failure.will_retry else 1
    outcome = FAILED_WILL_RETRY if failure.will_retry else FAILED
    at = failure.end_time
    if issue is None:
        return Issue(
            fingerprint=failure.fingerprint, pipeline_key=failure.pipeline_key, state=NEW,
            platform=failure.platform, group=failure.group, process=failure.process, error_type=failure.error_type,
            last_failure_id=failure.failure_id, first_seen=at, last_seen=at, occurrences=1,
            consecutive_failed_runs=failed_runs, failing_since=at, resolved_at=None, last_run_outcome=outcome,
            state_changed_at=now,
        )
    seen = dataclasses.replace(issue, occurrences=issue.occurrences + 1, first_seen=min(issue.first_seen, at),
                               last_seen=max(issue.last_seen, at))
    if at >= issue.last_seen:
        seen = dataclasses.replace(
            seen, platform=failure.platform, group=failure.group, process=failure.process,
            error_type=failure.error_type, last_failure_id=failure.failure_id, last_run_outcome=outcome)
    if issue.state == RESOLVED:
        if issue.resolved_at is not None and at < issue.resolved_at:
            return seen  # older than the success that resolved it: that success still stands
        return dataclasses.replace(seen, state=REGRESSED, consecutive_failed_runs=failed_runs, failing_since=at,
                                   resolved_at=None, state_changed_at=now)
    runs = issue.consecutive_failed_runs + failed_runs
    # A regression stays "regressed" through the rest of the run that brought it back (its first try may
    # have been one the scheduler retried): it is ongoing once a second run fails.
    state = REGRESSED if issue.state == REGRESSED and runs < 2 else ONGOING
    changed = issue.state != state
    return dataclasses.replace(
        seen, state=state, consecutive_failed_runs=runs,
        failing_since=min(issue.failing_since, at) if issue.failing_since else at,
        state_changed_at=now if changed else issue.state_changed_at)


def on_success(issue: Issue, run_end: datetime, now: datetime) -> Issue:
    """A successful run (or later try) of the issue's platform/group/process: an open issue is resolved, unless
    the success is older than the issue's latest failure."""
    if issue.state not in OPEN or run_end < issue.last_seen:
        return issue
    return dataclasses.replace(issue, state=RESOLVED, resolved_at=run_end, consecutive_failed_runs=0,
                               failing_since=None, last_run_outcome=SUCCESS, state_changed_at=now)

