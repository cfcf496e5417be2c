"""The next digest as the console shows it: what ``otelmon digest --dry-run`` would print, with the settings'
options (window, recipients, row limit), read without changing anything (no claim, no digest id taken)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from otelmon.clock import utcnow
from otelmon.config import Settings
from otelmon.digest.claim import Claim
from otelmon.digest.content import window_label
from otelmon.digest.options import resolve_options
from otelmon.digest.run import preview


@dataclass(frozen=True)
class NextDigest:
    window: timedelta
    window_start: datetime  # naive UTC, as the digest's own window
    window_end: datetime
    recipients: list[str]
    resend_first: list[Any]  # digests claimed earlier but not sent: the next run resends them first (id, failure_count)
    claim: Claim | None  # None: no new failure, no email

    @property
    def window_label(self) -> str:
        return window_label(self.window)

    @property
    def context(self) -> dict[str, Any] | None:
        """What the email itself reports (total, group_total, platforms, recovered_total, suppressed_total,
        listed, not_listed, top_errors, ...)."""
        return self.claim.composed.context if self.claim else None

    @property
    def html(self) -> str | None:
        return self.claim.composed.html if self.claim else None


def next_digest(engine: Engine, settings: Settings, now: datetime | None = None) -> NextDigest:
    """Raises ``SchemaNotReady`` on a database the API has not migrated."""
    options = resolve_options(settings)
    now = now or utcnow()
    unsent, claim = preview(engine, settings, options, now=now)
    return NextDigest(window=options.window, window_start=now - options.window, window_end=now,
                      recipients=options.recipients, resend_first=unsent, claim=claim)
