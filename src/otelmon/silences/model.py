"""What a silence is: matchers (glob patterns on a failure's labels), a time range, who and why; and the
durations people write (``24h``, ``90m``, ``1h30m``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from otelmon.failures.values import to_naive_utc

SILENCE, ACK = "silence", "ack"
Kind = Literal["silence", "ack"]
Status = Literal["pending", "active", "expired"]

# The labels a matcher may name, and the failures column each is read from.
MATCHER_KEYS = ("platform", "group", "process", "error_type", "fingerprint")
COLUMNS = {"platform": "platform", "group": "group_name", "process": "process_name", "error_type": "error_type",
           "fingerprint": "fingerprint"}
MAX_PATTERN_CHARS = 255
MAX_COMMENT_CHARS = 2000
MAX_AUTHOR_CHARS = 255
GLOB_CHARS = frozenset("*?[")

_DURATION = re.compile(r"(\d+)\s*([smhdw])", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True)
class Silence:
    id: int
    kind: str
    matchers: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None  # None: until ended (an acknowledgement)
    comment: str
    created_by: str
    created_at: datetime
    expired_at: datetime | None  # ended early (expired by a person, or an ack whose issue changed)
    fingerprint: str | None = None

    def status(self, now: datetime) -> Status:
        if self.expired_at is not None and self.expired_at <= now:
            return "expired"
        if self.ends_at is not None and self.ends_at <= now:
            return "expired"
        return "pending" if self.starts_at > now else "active"

    def ended_at(self) -> datetime | None:
        """When it stopped, or stops, holding back failures (None: not before someone ends it)."""
        if self.expired_at is not None and (self.ends_at is None or self.expired_at < self.ends_at):
            return self.expired_at
        return self.ends_at


def parse_duration(text: str) -> timedelta:
    """``30s``, ``15m``, ``24h``, ``7d``, ``2w`` or a sum such as ``1h30m``; ValueError otherwise."""
    compact = text.strip().replace(" ", "")
    parts = list(_DURATION.finditer(compact))
    if not compact or "".join(p.group(0) for p in parts) != compact:
        raise ValueError(f"invalid duration {text!r}: expected e.g. 30m, 24h, 7d or 1h30m")
    total = timedelta(seconds=sum(int(p.group(1)) * _UNIT_SECONDS[p.group(2).lower()] for p in parts))
    if total <= timedelta(0):
        raise ValueError(f"invalid duration {text!r}: must be longer than zero")
    return total


def check_matchers(matchers: dict[str, str]) -> dict[str, str]:
    """The matchers, checked: at least one, known keys, each a non-empty glob pattern of bounded length."""
    if not matchers:
        raise ValueError(f"at least one matcher is required (one of {', '.join(MATCHER_KEYS)})")
    unknown = sorted(set(matchers) - set(MATCHER_KEYS))
    if unknown:
        raise ValueError(f"unknown matcher {unknown[0]!r}: expected one of {', '.join(MATCHER_KEYS)}")
    for key, pattern in matchers.items():
        if not isinstance(pattern, str) or not pattern.strip():
            raise ValueError(f"matcher {key!r}: the pattern must not be empty")
        if len(pattern) > MAX_PATTERN_CHARS:
            raise ValueError(f"matcher {key!r}: the pattern is longer than {MAX_PATTERN_CHARS} characters")
        if pattern.count("[") != pattern.count("]"):
            raise ValueError(f"matcher {key!r}: unbalanced [ ] in the glob pattern {pattern!r}")
    return {key: matchers[key] for key in MATCHER_KEYS if key in matchers}


def parse_matcher(text: str) -> tuple[str, str]:
    """``group=billing_*`` (the CLI's ``--match``) -> ("group", "billing_*")."""
    key, sep, pattern = text.partition("=")
    if not sep:
        raise ValueError(f"invalid matcher {text!r}: expected KEY=PATTERN, e.g. group=billing_*")
    return key.strip(), pattern.strip()


def parse_time(text: str | None) -> datetime | None:
    """A start or end typed by a person: ISO 8601, UTC when it names no zone (as every time OtelMon shows)."""
    if not text:
        return None
    try:
        return to_naive_utc(datetime.fromisoformat(text))
    except ValueError:
        raise ValueError(f"invalid time {text!r}: expected ISO 8601, e.g. 2026-12-24T18:00 (UTC)") from None


def check_window(starts_at: datetime | None, ends_at: datetime | None, duration: str | None,
                 now: datetime) -> tuple[datetime, datetime]:
    """(start, end) of a new silence from an end time or a duration (exactly one), the start defaulting to now:
    the end after the start and in the future. ValueError says what is wrong."""
    if (duration is None) == (ends_at is None):
        raise ValueError("give either ends_at or for (a duration such as 24h), not both or neither")
    starts = starts_at or now
    ends = ends_at if ends_at is not None else starts + parse_duration(duration or "")
    if ends <= starts:
        raise ValueError("ends_at must be after starts_at")
    if ends <= now:
        raise ValueError("ends_at must be in the future")
    return starts, ends


def check_note(comment: str, author: str) -> tuple[str, str]:
    """Why and who, stripped: both required, of bounded length."""
    comment, author = comment.strip(), author.strip()
    if not comment or not author:
        raise ValueError("comment and author must not be blank")
    if len(comment) > MAX_COMMENT_CHARS:
        raise ValueError(f"the comment is longer than {MAX_COMMENT_CHARS} characters")
    if len(author) > MAX_AUTHOR_CHARS:
        raise ValueError(f"the author is longer than {MAX_AUTHOR_CHARS} characters")
    return comment, author
