"""The options of one digest run: explicit values (flags, Airflow Variables, run conf) over settings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from otelmon.config import Settings

_WINDOW = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "": 3600}


@dataclass(frozen=True)
class DigestOptions:
    recipients: list[str]
    window: timedelta
    row_limit: int


def parse_window(text: str) -> timedelta:
    """``24h``, ``90m``, ``2d``, ``3600s``; a bare number means hours."""
    match = _WINDOW.match(text)
    if not match:
        raise ValueError(f"window {text!r}: expected a number with s, m, h or d, such as 24h")
    window = timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()])
    if window <= timedelta(0):
        raise ValueError(f"window {text!r} must be longer than zero")
    return window


def resolve_options(
    settings: Settings,
    *,
    recipients: list[str] | None = None,
    window: timedelta | None = None,
    row_limit: int | None = None,
) -> DigestOptions:
    """Explicit values (command-line flags, Airflow Variables) win over the environment."""
    return DigestOptions(
        recipients=list(recipients or settings.digest_recipients or settings.alert_recipients),
        window=window or timedelta(hours=settings.digest_window_hours),
        row_limit=settings.digest_row_limit if row_limit is None else row_limit,
    )
