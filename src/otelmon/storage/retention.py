"""Retention: failures and runs older than ``OTELMON_RETENTION_DAYS`` are deleted, so the tables stay bounded.

The API process prunes in the background (:class:`Pruner`): every ``OTELMON_RETENTION_INTERVAL_SECONDS``, in
a worker thread, in batches of a bounded size (each its own short transaction: ingest never waits long on
its locks), for at most a time budget per pass. Several replicas may prune at once: on MariaDB a named lock
lets one of them work while the others skip the pass; where two overlap anyway, a row deleted twice is
deleted once. Issues are kept (one per fingerprint, few), as are alerts and digests.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, Table, and_, delete, exists, select, text

from otelmon.clock import utcnow
from otelmon.storage.dialect import is_mysql
from otelmon.storage.tables import Tables

log = logging.getLogger(__name__)

BATCH_ROWS = 1000
PASS_SECONDS = 60.0
_LOCK_NAME = "otelmon_retention"
# Outbox states whose alert is still to be decided: their failure stays until it is.
_PENDING_ALERTS = ("new", "held")


@dataclass
class Pruned:
    failures: int = 0
    runs: int = 0
    complete: bool = True  # False: the pass ran out of time, the rest waits for the next one


def prune(engine: Engine, tables: Tables, retention: timedelta, *, now: datetime | None = None,
          batch_rows: int = BATCH_ROWS, budget_seconds: float = PASS_SECONDS) -> Pruned | None:
    """Delete failures (with their settled outbox rows) and runs that ended before ``now - retention``;
    None when another replica holds the retention lock."""
    cutoff = (now or utcnow()) - retention
    deadline = time.monotonic() + budget_seconds
    result = Pruned()
    with engine.connect() as lock_conn:
        if is_mysql(engine.dialect.name):
            if lock_conn.execute(text("SELECT GET_LOCK(:n, 0)"), {"n": _LOCK_NAME}).scalar() != 1:
                return None
        try:
            f, ob, r = tables.failures, tables.alert_outbox, tables.runs
            pending = exists().where(and_(ob.c.failure_id == f.c.id, ob.c.state.in_(_PENDING_ALERTS)))
            failures = select(f.c.id).where(and_(f.c.end_time < cutoff, ~pending)).order_by(f.c.end_time)
            runs = select(r.c.id).where(r.c.end_time < cutoff).order_by(r.c.end_time)
            for query, table, extra, field in ((failures, f, ob, "failures"), (runs, r, None, "runs")):
                while True:
                    if time.monotonic() >= deadline:
                        result.complete = False
                        return result
                    with engine.begin() as conn:
                        deleted = _delete_batch(conn, query.limit(batch_rows), table, extra)
                    setattr(result, field, getattr(result, field) + deleted)
                    if deleted < batch_rows:
                        break
        finally:
            if is_mysql(engine.dialect.name):
                lock_conn.execute(text("SELECT RELEASE_LOCK(:n)"), {"n": _LOCK_NAME})
    return result


def _delete_batch(conn: Connection, ids_query, table: Table, outbox: Table | None) -> int:
    ids = list(conn.execute(ids_query).scalars())
    if not ids:
        return 0
    if outbox is not None:
        conn.execute(delete(outbox).where(outbox.c.failure_id.in_(ids)))
    conn.execute(delete(table).where(table.c.id.in_(ids)))
    return len(ids)


class Pruner:
    """The API process's pruning loop: a pass now and then every ``interval_seconds``, off the event loop."""

    def __init__(self, engine: Engine, tables: Tables, retention_days: float, interval_seconds: float) -> None:
        self.engine, self.tables = engine, tables
        self.retention = timedelta(days=retention_days)
        self.interval = interval_seconds
        self._task: asyncio.Task | None = None
        self.passes = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="otelmon-retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        while True:
            try:
                # A pass is bounded by its own time budget and the database's statement timeouts; this one
                # bounds the wait should the thread stall anyway (it then finishes on its own).
                pruned = await asyncio.wait_for(
                    asyncio.to_thread(prune, self.engine, self.tables, self.retention), PASS_SECONDS * 2)
                if pruned is not None and (pruned.failures or pruned.runs):
                    log.info("retention: deleted %d failures and %d runs older than %s", pruned.failures,
                             pruned.runs, self.retention)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a database blip: the next pass tries again
                log.warning("retention pass failed; trying again in %.0f s", self.interval, exc_info=True)
            self.passes += 1
            await asyncio.sleep(self.interval)
