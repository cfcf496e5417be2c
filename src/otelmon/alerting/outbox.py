"""The outbox: an alert intent per new failure, written in the ingest transaction (nothing lost)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Connection, func, literal, select

from otelmon.clock import utcnow
from otelmon.storage.tables import Tables

if TYPE_CHECKING:
    from otelmon.ingest import NewFailures

NEW, ALERTED, SUPPRESSED, HELD, SUMMARIZED = "new", "alerted", "suppressed", "held", "summarized"


def enqueue_hook(tables: Tables, group_wait_seconds: float) -> Callable[[Connection, NewFailures], None]:
    """An ingest hook: one INSERT ... SELECT for all failures the batch created."""
    ob, f = tables.alert_outbox, tables.failures

    def enqueue(conn: Connection, new: NewFailures) -> None:
        now = utcnow()
        due = now + timedelta(seconds=group_wait_seconds)
        # Without a trace id, a failure is its own group (its identity key stands in for the trace).
        group_key = func.coalesce(f.c.trace_id, func.substr(f.c.identity_key, 1, 32))
        # By ingest id (a few per transaction, indexed), not by the failure ids (hundreds in a storm).
        source = select(f.c.id, group_key, f.c.fingerprint, literal(now), literal(due), literal(NEW)).where(
            f.c.ingest_id.in_(new.ingest_ids)
        )
        conn.execute(
            ob.insert().from_select(
                ["failure_id", "group_key", "fingerprint", "created_at", "due_at", "state"], source
            )
        )

    return enqueue
