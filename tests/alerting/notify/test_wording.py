"""The issue line every channel shows: one sentence per state, times in UTC and the display timezone."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from otelmon.alerting.notify.wording import issue_line, moment
from tests.alerting.notify import views


def test_each_state_has_its_sentence() -> None:
    assert issue_line({**views.ONGOING, "state": "new"}) == "A new issue: the first time this error is seen here."
    assert issue_line(views.ONGOING) == views.ONGOING_LINE
    assert issue_line(views.REGRESSED) == views.REGRESSED_LINE
    assert issue_line({**views.ONGOING, "state": "resolved", "failing_since": None}) == (
        "Resolved: a later run of this step succeeded; this error was seen 9 times since "
        "2026-11-20 06:00:00.250 UTC.")


@pytest.mark.parametrize(("changes", "line"), [
    ({"consecutive_failed_runs": 1, "occurrences": 1},
     "Failing since 2026-11-28 06:00:00.000 UTC, seen 1 time since 2026-11-20 06:00:00.250 UTC."),
    ({"failing_since": None}, "4 failed runs in a row, seen 9 times since 2026-11-20 06:00:00.250 UTC."),
    ({"failing_since": None, "consecutive_failed_runs": 0}, "Seen 9 times since 2026-11-20 06:00:00.250 UTC."),
])
def test_an_ongoing_issue_says_only_what_it_knows(changes: dict, line: str) -> None:
    assert issue_line({**views.ONGOING, **changes}) == line


def test_no_issue_no_line() -> None:
    assert issue_line(None) is None and issue_line({}) is None


def test_times_are_shown_as_the_channels_show_them() -> None:
    assert issue_line(views.ONGOING, "Europe/Paris") == views.ONGOING_LINE_PARIS
    aware = datetime(2026, 11, 28, 6, 0, tzinfo=timezone.utc)
    assert moment(aware, "UTC") == moment(aware.replace(tzinfo=None), "UTC") == "2026-11-28 06:00:00.000 UTC"
