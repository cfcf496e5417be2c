"""The project's time convention: naive datetimes in UTC, with microseconds (what DATETIME(6) stores)."""

from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)
