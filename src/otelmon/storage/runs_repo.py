"""Idempotent writes and reads of the ``runs`` table: one row per task try."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, func, select
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from otelmon.runs.model import SUCCESS, Run
from otelmon.storage.dialect import is_mysql
from otelmon.storage.rows import run_row
from otelmon.storage.tables import Tables

_ROWS_PER_STATEMENT = 1000


@lru_cache(maxsize=8)
def _upsert(dialect_name: str, table: Table):
    # A redelivered try changes nothing but may widen its time range, as for failures.
    if is_mysql(dialect_name):
        stmt = mysql_insert(table)
        return stmt.on_duplicate_key_update(
            start_time=func.least(table.c.start_time, stmt.inserted.start_time),
            end_time=func.greatest(table.c.end_time, stmt.inserted.end_time),
        )
    stmt = sqlite_insert(table)
    return stmt.on_conflict_do_update(
        index_elements=[table.c.identity_key],
        set_={
            "start_time": func.min(table.c.start_time, stmt.excluded.start_time),
            "end_time": func.max(table.c.end_time, stmt.excluded.end_time),
        },
    )


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
    statement = _upsert(conn.dialect.name, table)
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
