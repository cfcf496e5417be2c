"""The project's time convention: naive datetimes in UTC, with microseconds (what DATETIME(6) stores)."""

from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def seconds_until(moment: datetime | None, cap: float) -> float:
    """Seconds from now until ``moment`` (naive UTC), between 0 and ``cap``; ``cap`` when there is none."""
    if moment is None:
        return cap
    return min(max((moment - utcnow()).total_seconds(), 0.0), cap)
