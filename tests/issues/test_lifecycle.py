"""The issue transitions as pure functions (otelmon.issues.lifecycle)."""

from __future__ import annotations

from datetime import datetime, timedelta

from otelmon.issues.lifecycle import NEW, ONGOING, REGRESSED, RESOLVED, FailureSeen, on_failure, on_success

T0 = datetime(2026, 12, 1, 8, 0)
NOW = datetime(2026, 12, 1, 12, 0)


def failure(minutes: int, *, will_retry: bool = False, failure_id: int = 1, error_type: str = "ValueError"):
    return FailureSeen(failure_id=failure_id, fingerprint="f" * 16, pipeline_key="p" * 16, platform="airflow",
                       group="nightly", process="load", error_type=error_type,
                       end_time=T0 + timedelta(minutes=minutes), will_retry=will_retry)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_first_failure_opens_a_new_issue():
    issue = on_failure(None, failure(0), NOW)
    assert (issue.state, issue.occurrences, issue.consecutive_failed_runs) == (NEW, 1, 1)
    assert issue.first_seen == issue.last_seen == issue.failing_since == at(0)
    assert (issue.resolved_at, issue.last_run_outcome, issue.state_changed_at) == (None, "failed", NOW)


def test_failing_again_is_ongoing_and_counts_failed_runs_but_not_tries_that_will_be_retried():
    issue = on_failure(None, failure(0, will_retry=True), NOW)
    assert (issue.state, issue.consecutive_failed_runs, issue.last_run_outcome) == (NEW, 0, "failed_will_retry")
    issue = on_failure(issue, failure(1, failure_id=2), NOW)
    assert (issue.state, issue.occurrences, issue.consecutive_failed_runs) == (ONGOING, 2, 1)
    later = NOW + timedelta(hours=1)
    issue = on_failure(issue, failure(60, failure_id=3), later)
    assert (issue.state, issue.occurrences, issue.consecutive_failed_runs) == (ONGOING, 3, 2)
    assert issue.failing_since == at(0) and issue.last_seen == at(60) and issue.last_failure_id == 3
    assert issue.state_changed_at == NOW  # ongoing already: no change of state


def test_a_later_success_resolves_and_a_failure_after_it_regresses():
    issue = on_failure(on_failure(None, failure(0), NOW), failure(5), NOW)
    resolved = on_success(issue, at(10), NOW)
    assert (resolved.state, resolved.resolved_at, resolved.consecutive_failed_runs) == (RESOLVED, at(10), 0)
    assert (resolved.failing_since, resolved.last_run_outcome) == (None, "success")
    assert on_success(resolved, at(20), NOW) == resolved  # already resolved: unchanged

    regressed = on_failure(resolved, failure(30), NOW)
    assert (regressed.state, regressed.occurrences, regressed.consecutive_failed_runs) == (REGRESSED, 3, 1)
    assert (regressed.failing_since, regressed.resolved_at, regressed.first_seen) == (at(30), None, at(0))
    assert on_failure(regressed, failure(40), NOW).state == ONGOING


def test_events_out_of_order_do_not_undo_what_later_ones_said():
    issue = on_failure(None, failure(10), NOW)
    assert on_success(issue, at(5), NOW) == issue  # a success older than the failure resolves nothing
    resolved = on_success(issue, at(20), NOW)
    late = on_failure(resolved, failure(15), NOW)  # failed before the success that resolved it
    assert (late.state, late.occurrences, late.resolved_at, late.last_seen) == (RESOLVED, 2, at(20), at(15))
    older = on_failure(issue, failure(2, failure_id=9, error_type="Other"), NOW)
    assert (older.first_seen, older.last_seen, older.last_failure_id) == (at(2), at(10), 1)


def test_a_regression_stays_regressed_through_the_rest_of_its_run():
    resolved = on_success(on_failure(None, failure(0), NOW), at(10), NOW)
    retried = on_failure(resolved, failure(20, will_retry=True), NOW)
    assert (retried.state, retried.consecutive_failed_runs) == (REGRESSED, 0)
    last_try = on_failure(retried, failure(21), NOW)
    assert (last_try.state, last_try.consecutive_failed_runs) == (REGRESSED, 1)
    assert on_failure(last_try, failure(40), NOW).state == ONGOING
