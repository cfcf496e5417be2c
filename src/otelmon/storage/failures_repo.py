"""Reads and idempotent writes of the ``failures`` table."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, func, or_, select
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from otelmon.failures.model import Failure
from otelmon.storage.dialect import is_mysql
from otelmon.storage.rows import failure_row
from otelmon.storage.tables import Tables


@lru_cache(maxsize=8)
def widening_upsert(dialect_name: str, table: Table):
    """INSERT keyed by ``identity_key``: a redelivered row changes nothing but may widen its time range
    (failures and runs alike). Built once per table: constructing ``inserted``/``excluded`` proxies costs more
    than the insert."""
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


# Reads back which failures a transaction created, as (id, ingest id) pairs: a row created by this
# transaction holds one of its ingest ids, a redelivered one keeps the ingest id of its first delivery.
# The alert outbox supplies a reader that copies them into the outbox in the same statement.
CreatedReader = Callable[[Connection, list[str]], Iterable[tuple[int, str]]]


def select_created(tables: Tables) -> CreatedReader:
    f = tables.failures
    query = select(f.c.id, f.c.ingest_id).where(f.c.ingest_id.in_(bindparam("ingest_ids", expanding=True)))

    def read(conn: Connection, ingest_ids: list[str]) -> Iterable[tuple[int, str]]:
        return conn.execute(query, {"ingest_ids": ingest_ids})

    return read


@dataclass
class BatchOutcome:
    """What one batch of an insert did: the rows it created, and how many distinct failures it held."""

    created_ids: list[int] = field(default_factory=list)
    identities: int = 0


def insert_failures(
    conn: Connection, tables: Tables, batches: Sequence[tuple[Sequence[Failure], str]], received_at: datetime,
    read_created: CreatedReader,
) -> dict[str, BatchOutcome]:
    """Insert or merge the failures of several batches (each with its own ingest id); returns, per ingest
    id, the ids of rows this call created (not redelivered ones) and the batch's distinct failures.

    A failure already stored (same identity) only widens its time range: a task's outer span and an
    inner step's span both report the same try, and a redelivery changes nothing.
    """
    table = tables.failures
    rows = sorted(
        (failure_row(table, f, received_at, ingest_id) for failures, ingest_id in batches for f in failures),
        key=lambda r: r["identity_key"],
    )
    if not rows:
        return {}
    # One statement, compiled once and cached; the driver sends the rows as multi-row INSERTs.
    conn.execute(widening_upsert(conn.dialect.name, table), rows)
    identities: dict[str, set[str]] = {ingest_id: set() for _, ingest_id in batches}
    for row in rows:
        identities[row["ingest_id"]].add(row["identity_key"])
    outcomes = {ingest_id: BatchOutcome(identities=len(keys)) for ingest_id, keys in identities.items()}
    for failure_id, ingest_id in read_created(conn, list(outcomes)):
        outcomes[ingest_id].created_ids.append(failure_id)
    for outcome in outcomes.values():
        outcome.created_ids.sort()
    return outcomes


@dataclass(frozen=True)
class FailureFilter:
    since: datetime | None = None
    until: datetime | None = None
    platform: str | None = None
    group: str | None = None
    process: str | None = None


def encode_cursor(end_time: datetime, failure_id: int) -> str:
    return base64.urlsafe_b64encode(f"{end_time.isoformat()}|{failure_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        end_text, id_text = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        end_time, last_id = datetime.fromisoformat(end_text), int(id_text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("invalid cursor") from exc
    # Only what encode_cursor writes: naive UTC and a BIGINT id (a larger one overflows SQLite's driver).
    if end_time.tzinfo is not None or not 0 < last_id < 2**63:
        raise ValueError("invalid cursor")
    return end_time, last_id


def list_failures(
    conn: Connection, tables: Tables, flt: FailureFilter, limit: int, cursor: str | None
) -> tuple[list[Any], str | None]:
    """Newest first by end time, keyset-paginated so deep pages cost the same as the first."""
    t = tables.failures
    query = select(t)
    if flt.since is not None:
        query = query.where(t.c.end_time >= flt.since)
    if flt.until is not None:
        query = query.where(t.c.end_time < flt.until)
    if flt.platform:
        query = query.where(t.c.platform == flt.platform)
    if flt.group:
        query = query.where(t.c.group_name == flt.group)
    if flt.process:
        query = query.where(t.c.process_name == flt.process)
    return keyset_page(conn, query, t.c.end_time, t.c.id, limit, cursor)


def keyset_page(conn: Connection, query: Any, time_column: Any, id_column: Any, limit: int,
                cursor: str | None) -> tuple[list[Any], str | None]:
    """One page of ``query`` newest first by (time, id), keyset-paginated so deep pages cost the same as the
    first; the cursor of the next page, or None on the last."""
    if cursor:
        when, last_id = decode_cursor(cursor)
        query = query.where(or_(time_column < when, and_(time_column == when, id_column < last_id)))
    rows = list(conn.execute(query.order_by(time_column.desc(), id_column.desc()).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]._mapping
    return rows, encode_cursor(last[time_column.name], last[id_column.name])


def count_ended_since(conn: Connection, tables: Tables, since: datetime) -> int:
    """Failures that ended at or after ``since`` (naive UTC), as the failures list counts them."""
    t = tables.failures
    return int(conn.execute(select(func.count()).select_from(t).where(t.c.end_time >= since)).scalar() or 0)


def recent_of_issue(conn: Connection, tables: Tables, issue: Any, limit: int) -> list[Any]:
    """The newest failures of an issue (its fingerprint), newest first; read along the issue's step
    (``ix_failures_pipeline``), as every failure of a fingerprint belongs to one step."""
    t = tables.failures
    query = (select(t).where(t.c.platform == issue.platform, t.c.group_name == issue.group_name,
                             t.c.process_name == issue.process_name, t.c.fingerprint == issue.fingerprint)
             .order_by(t.c.end_time.desc(), t.c.id.desc()).limit(limit))
    return list(conn.execute(query))


def get_failure(conn: Connection, tables: Tables, failure_id: int) -> Any | None:
    t = tables.failures
    return conn.execute(select(t).where(t.c.id == failure_id)).first()


def find_id(conn: Connection, tables: Tables, identity_key: str) -> int:
    t = tables.failures
    return conn.execute(select(t.c.id).where(t.c.identity_key == identity_key)).scalar_one()
