"""Idempotent writes and reads of the ``runs`` table: one row per task try."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, select

from otelmon.runs.model import SUCCESS, Run
from otelmon.storage.failures_repo import widening_upsert
from otelmon.storage.rows import run_row
from otelmon.storage.tables import Tables

_ROWS_PER_STATEMENT = 1000


def insert_runs(conn: Connection, tables: Tables, batches: Sequence[tuple[Sequence[Run], str]],
                received_at: datetime) -> None:
    """Insert the runs of several batches (each with its own ingest id); a try already stored stays one row.

    A request may hold tens of thousands of task spans: rows are built and sent a slice at a time, so their
    dicts never all exist at once.
    """
    table = tables.runs
    # Sorted by the unique key, as failures are: concurrent writers lock rows in the same order.
    keyed = sorted(((run.identity_key, run, ingest_id) for runs, ingest_id in batches for run in runs),
                   key=itemgetter(0))
    statement = widening_upsert(conn.dialect.name, table)
    for start in range(0, len(keyed), _ROWS_PER_STATEMENT):
        conn.execute(statement, [run_row(table, run, received_at, ingest_id, key)
                                 for key, run, ingest_id in keyed[start:start + _ROWS_PER_STATEMENT]])


def latest_successes(conn: Connection, tables: Tables, ingest_ids: list[str]) -> list[Any]:
    """Per step (platform, group, process), the end of its latest successful run that this transaction created
    (a redelivered run keeps its first ingest id): what resolves issues. One row per step, however many runs."""
    r = tables.runs
    steps = (r.c.platform, r.c.group_name, r.c.process_name)
    query = (select(*steps, func.max(r.c.end_time).label("end_time"))
             .where(and_(r.c.ingest_id.in_(bindparam("ingest_ids", expanding=True)), r.c.outcome == SUCCESS))
             .group_by(*steps))
    return list(conn.execute(query, {"ingest_ids": ingest_ids}))
