"""Idempotent writes and reads of the ``runs`` table: one row per task try."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, select

from otelmon.runs.model import FAILED, FAILED_WILL_RETRY, SUCCESS, Run
from otelmon.storage.failures_repo import widening_upsert
from otelmon.storage.rows import run_row
from otelmon.storage.tables import Tables

_ROWS_PER_STATEMENT = 1000
# A run retried more often than this is listed with its first tries only.
MAX_TRIES_LISTED = 100


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


@dataclass(frozen=True, slots=True)
class RunTry:
    """One try of a run as OtelMon heard of it: how it ended, and its failure when it failed."""

    try_number: int | None
    outcome: str  # success | failed | failed_will_retry
    start_time: datetime
    end_time: datetime
    failure_id: int | None = None
    error_type: str | None = None


def tries_of_run(conn: Connection, tables: Tables, platform: str, group: str, process: str,
                 run_id: str) -> list[RunTry]:
    """Every try of one run of one step, first try first: the task tries recorded in ``runs`` (whatever their
    outcome), each joined to its failure, and failures reported without a task try (``POST
    /api/v1/process-failure``). A try is both rows under one identity key."""
    r, f = tables.runs, tables.failures
    step = (r.c.platform == platform, r.c.group_name == group, r.c.process_name == process, r.c.run_id == run_id)
    runs = conn.execute(select(r.c.identity_key, r.c.try_number, r.c.outcome, r.c.start_time, r.c.end_time)
                        .where(*step).order_by(r.c.try_number, r.c.id).limit(MAX_TRIES_LISTED)).all()
    failures = conn.execute(
        select(f.c.id, f.c.identity_key, f.c.try_number, f.c.start_time, f.c.end_time, f.c.error_type, f.c.will_retry)
        .where(f.c.platform == platform, f.c.group_name == group, f.c.process_name == process, f.c.run_id == run_id)
        .order_by(f.c.try_number, f.c.id).limit(MAX_TRIES_LISTED)).all()
    failed = {row.identity_key: row for row in failures}
    tries = []
    for row in runs:
        failure = failed.pop(row.identity_key, None)
        tries.append(RunTry(row.try_number, row.outcome, row.start_time, row.end_time,
                            failure.id if failure is not None else None,
                            failure.error_type if failure is not None else None))
    tries += [RunTry(row.try_number, FAILED_WILL_RETRY if row.will_retry else FAILED, row.start_time, row.end_time,
                     row.id, row.error_type) for row in failed.values()]
    tries.sort(key=lambda t: (t.try_number is None, t.try_number or 0, t.start_time))
    return tries[:MAX_TRIES_LISTED]
