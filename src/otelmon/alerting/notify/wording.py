"""Sentences every channel shows alike, in plain text: each notifier escapes them for its own markup.

Kept in one place so that an email, a Slack message and a Teams card never word the same fact differently.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from otelmon.email.render import format_local, format_utc


def moment(value: datetime | None, zone: str) -> str:
    """A time as the alerts show it: UTC to the millisecond, then in the display timezone when that is not UTC."""
    local = format_local(value, zone)
    return format_utc(value) + (f" ({local})" if local else "")


def _times(count: int) -> str:
    return f"{count} time{'' if count == 1 else 's'}"


def issue_line(issue: dict[str, Any] | None, zone: str = "UTC") -> str | None:
    """The alert's issue in one sentence (docs/design.md "Pipeline runs, issues and the alert policy"): new,
    regressed, or since when and how often it fails; None when the alert has no issue."""
    if not issue:
        return None
    state = issue.get("state")
    if state == "new":
        return "A new issue: the first time this error is seen here."
    seen = f"seen {_times(int(issue.get('occurrences') or 0))} since {moment(issue.get('first_seen'), zone)}"
    if state == "regressed":
        return f"Regressed: this error had recovered and is back; {seen}."
    if state == "resolved":
        return f"Resolved: a later run of this step succeeded; this error was {seen}."
    parts = []
    if issue.get("failing_since") is not None:
        parts.append(f"Failing since {moment(issue['failing_since'], zone)}")
    runs = int(issue.get("consecutive_failed_runs") or 0)
    if runs > 1:
        parts.append(f"{runs} failed runs in a row")
    parts.append(seen)
    sentence = ", ".join(parts)
    return sentence[0].upper() + sentence[1:] + "."
