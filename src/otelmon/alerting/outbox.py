"""The outbox: an alert intent per new failure, written in the ingest transaction (nothing lost)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from sqlalchemy import Connection, func, literal, select

from otelmon.storage.tables import Tables

NEW, ALERTED, SUPPRESSED, HELD, SUMMARIZED = "new", "alerted", "suppressed", "held", "summarized"


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def enqueue_hook(tables: Tables, group_wait_seconds: float) -> Callable[[Connection, list[int]], None]:
    """An ingest hook: one INSERT ... SELECT for all failures the batch created."""
    ob, f = tables.alert_outbox, tables.failures

    def enqueue(conn: Connection, failure_ids: list[int]) -> None:
        now = utcnow()
        due = now + timedelta(seconds=group_wait_seconds)
        # Without a trace id, a failure is its own group (its identity key stands in for the trace).
        group_key = func.coalesce(f.c.trace_id, func.substr(f.c.identity_key, 1, 32))
        source = select(f.c.id, group_key, f.c.fingerprint, literal(now), literal(due), literal(NEW)).where(
            f.c.id.in_(failure_ids)
        )
        conn.execute(
            ob.insert().from_select(
                ["failure_id", "group_key", "fingerprint", "created_at", "due_at", "state"], source
            )
        )

    return enqueue
