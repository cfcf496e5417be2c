"""The console's home page in numbers: open issues by state, failures of the last day, alerts by state,
silences in effect; each count from the package's own query, all read from one snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from otelmon.alerting.delivery import FAILED, STATES, UNROUTABLE
from otelmon.alerting.history import alerts_by_state
from otelmon.issues.lifecycle import OPEN
from otelmon.issues.storage import count_by_state
from otelmon.silences.model import ACK, SILENCE
from otelmon.silences.store import count_active
from otelmon.storage.database import read_snapshot
from otelmon.storage.failures_repo import count_ended_since
from otelmon.storage.tables import Tables

RECENT = timedelta(hours=24)
# Alerts that need a person: a delivery that gave up, or no receiver for them.
NEEDS_ATTENTION = (FAILED, UNROUTABLE)


@dataclass(frozen=True)
class Overview:
    open_issues: dict[str, int]  # new, ongoing, regressed (every one, zero when none)
    recent_failures: int  # ended in the last RECENT
    alerts: dict[str, int]  # every alert state, zero when none
    silences: int  # in effect now
    acknowledged: int  # issues acknowledged now (an acknowledgement is a silence of one fingerprint)

    @property
    def open_total(self) -> int:
        return sum(self.open_issues.values())

    @property
    def needs_attention(self) -> int:
        return sum(self.alerts[state] for state in NEEDS_ATTENTION)


def read_overview(engine: Engine, tables: Tables, now: datetime) -> Overview:
    """``now``: naive UTC, as stored."""
    with read_snapshot(engine) as conn:
        issues = count_by_state(conn, tables)
        recent = count_ended_since(conn, tables, now - RECENT)
        alerts = dict.fromkeys(STATES, 0) | alerts_by_state(conn, tables)
        silences = count_active(conn, tables, now)
    return Overview(open_issues={state: issues[state] for state in OPEN}, recent_failures=recent, alerts=alerts,
                    silences=silences[SILENCE], acknowledged=silences[ACK])
