"""The outbox: an alert intent per new failure, written in the ingest transaction (nothing lost)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import Connection, DateTime, bindparam, func, literal, select, update

from otelmon.clock import utcnow
from otelmon.storage.failures_repo import CreatedReader
from otelmon.storage.tables import Tables

NEW, ALERTED, SUPPRESSED, HELD, SUMMARIZED = "new", "alerted", "suppressed", "held", "summarized"
# Its group matched an active silence when dispatched: not alerted, not counted against the repeat
# interval; alert_outbox.silence_id names the silence (docs/design.md "Silences and acknowledgement").
SILENCED = "silenced"
# A try the scheduler will retry, held (docs/design.md "Pipeline runs, issues and the alert policy"):
# due_at is its hold deadline. It ends as RECOVERED (a later try of its run succeeded: no alert; the digest
# lists it), SUPERSEDED (a later try failed: that try's own alert names this one), or back to NEW with
# will_retry cleared once the deadline passes without news (alerted anyway).
RETRYING, RECOVERED, SUPERSEDED = "retrying", "recovered", "superseded"
_IDS_PER_STATEMENT = 1000


def enqueue_created(tables: Tables, group_wait_seconds: float) -> CreatedReader:
    """The ingest writer's read-back of the failures it created, with alerting on: one INSERT ... SELECT ...
    RETURNING both enqueues them and tells which they were, so alerting adds no round trip to the
    single writer (MariaDB >= 10.5, SQLite >= 3.35)."""
    ob, f = tables.alert_outbox, tables.failures
    wait = timedelta(seconds=group_wait_seconds)
    # Without a trace id, a failure is its own group (its identity key stands in for the trace).
    group_key = func.coalesce(f.c.trace_id, func.substr(f.c.identity_key, 1, 32))
    source = select(
        f.c.id, f.c.ingest_id, group_key, f.c.fingerprint, bindparam("now", type_=DateTime),
        bindparam("due", type_=DateTime), literal(NEW), f.c.will_retry,
    ).where(f.c.ingest_id.in_(bindparam("ingest_ids", expanding=True)))
    # Built once: building it anew in the writer on every call cost as much CPU as running it.
    statement = ob.insert().from_select(
        ["failure_id", "ingest_id", "group_key", "fingerprint", "created_at", "due_at", "state", "will_retry"], source
    ).returning(ob.c.failure_id, ob.c.ingest_id)

    def enqueue(conn: Connection, ingest_ids: list[str]) -> Iterable[tuple[int, str]]:
        now = utcnow()
        return conn.execute(statement, {"now": now, "due": now + wait, "ingest_ids": ingest_ids})

    return enqueue


def mark_silenced(conn: Connection, tables: Tables, silenced: dict[int, int]) -> None:
    """Failure id -> silence id: each failure's outbox row becomes silenced by that silence."""
    ob = tables.alert_outbox
    by_silence: dict[int, list[int]] = {}
    for failure_id, silence_id in silenced.items():
        by_silence.setdefault(silence_id, []).append(failure_id)
    for silence_id, ids in by_silence.items():
        for start in range(0, len(ids), _IDS_PER_STATEMENT):
            chunk = ids[start : start + _IDS_PER_STATEMENT]
            conn.execute(update(ob).where(ob.c.failure_id.in_(chunk)).values(state=SILENCED, silence_id=silence_id))
