"""Issues in the database: kept up to date in the ingest transaction, read by the API, the CLI and the digest."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Table, and_, bindparam, func, select
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from otelmon.failures.model import pipeline_key
from otelmon.issues.lifecycle import OPEN, RESOLVED, STATES, FailureSeen, Issue, on_failure, on_success
from otelmon.storage.dialect import is_mysql
from otelmon.storage.failures_repo import keyset_page
from otelmon.storage.runs_repo import latest_successes
from otelmon.storage.tables import Tables

_FIELDS = [f.name for f in dataclasses.fields(Issue)]
_COLUMN = {"group": "group_name", "process": "process_name"}


@dataclass(frozen=True, slots=True)
class IssueChange:
    """An issue whose state a transaction changed (e.g. ``resolved``: a recovery to announce)."""

    issue_id: int
    fingerprint: str
    old_state: str | None  # None: the issue is new
    new_state: str
    issue: Issue


# Runs inside the ingest transaction with the changes it made, e.g. to enqueue recovery notices that then
# commit or roll back together with the runs that caused them.
ChangeHook = Callable[[Connection, list[IssueChange]], None]


def _row(issue: Issue) -> dict[str, Any]:
    return {_COLUMN.get(name, name): getattr(issue, name) for name in _FIELDS}


def _issue(row: Any) -> Issue:
    data = row._mapping
    return Issue(**{name: data[_COLUMN.get(name, name)] for name in _FIELDS})


@lru_cache(maxsize=8)
def _insert_absent(dialect_name: str, table: Table):
    if is_mysql(dialect_name):
        stmt = mysql_insert(table)
        return stmt.on_duplicate_key_update(fingerprint=table.c.fingerprint)
    return sqlite_insert(table).on_conflict_do_nothing(index_elements=[table.c.fingerprint])


def _created_failures(conn: Connection, tables: Tables, ingest_ids: list[str]) -> list[FailureSeen]:
    f = tables.failures
    query = select(f.c.id, f.c.fingerprint, f.c.platform, f.c.group_name, f.c.process_name, f.c.error_type,
                   f.c.end_time, f.c.will_retry).where(f.c.ingest_id.in_(bindparam("ingest_ids", expanding=True)))
    return [
        FailureSeen(failure_id=row.id, fingerprint=row.fingerprint,
                    pipeline_key=pipeline_key(row.platform, row.group_name, row.process_name),
                    platform=row.platform, group=row.group_name, process=row.process_name,
                    error_type=row.error_type, end_time=row.end_time, will_retry=bool(row.will_retry))
        for row in conn.execute(query, {"ingest_ids": ingest_ids})
    ]


def track(conn: Connection, tables: Tables, ingest_ids: list[str], now: datetime) -> list[IssueChange]:
    """Apply the failures and successful runs this transaction created (by its ingest ids) to their issues, in
    the order they happened; returns the issues whose state changed.

    Replicas may track the same fingerprint at once: a missing issue is first inserted as a placeholder
    (occurrences 0, "no issue yet" to ``lifecycle``), so every issue touched exists and is locked before it is
    read; the unique fingerprint makes a concurrent insert wait for this transaction instead of failing it.
    """
    failures = _created_failures(conn, tables, ingest_ids)
    successes = latest_successes(conn, tables, ingest_ids)
    if not failures and not successes:
        return []
    t = tables.issues
    fresh = {f.fingerprint: f for f in sorted(failures, key=lambda f: f.end_time)}
    if fresh:
        placeholders = [
            _row(dataclasses.replace(on_failure(None, f, now), occurrences=0)) for _, f in sorted(fresh.items())
        ]
        conn.execute(_insert_absent(conn.dialect.name, t), placeholders)
    pipelines = sorted({pipeline_key(s.platform, s.group_name, s.process_name) for s in successes})
    # One locking read per index (the unique fingerprint, ix_issues_pipeline): an OR of both would scan.
    wanted = []
    if fresh:
        wanted.append(t.c.fingerprint.in_(sorted(fresh)))
    if pipelines:
        wanted.append(and_(t.c.pipeline_key.in_(pipelines), t.c.state.in_(OPEN)))
    found_by_id = {row.id: row for condition in wanted
                   for row in conn.execute(select(t).where(condition).order_by(t.c.id).with_for_update())}
    found = [found_by_id[key] for key in sorted(found_by_id)]
    ids = {row.fingerprint: row.id for row in found}
    before: dict[str, Issue | None] = {
        row.fingerprint: None if row.occurrences == 0 else _issue(row) for row in found}
    current = dict(before)

    # Failures before successes at the same instant: a try that failed and one that then succeeded. Only each
    # step's latest success is read: earlier ones could only resolve what a later failure reopens, and the
    # state they lead to is the same.
    events: list[tuple[datetime, int, Any]] = [(f.end_time, 0, f) for f in failures]
    events += [(s.end_time, 1, s) for s in successes]
    for _, kind, event in sorted(events, key=lambda e: (e[0], e[1])):
        if kind == 0:
            current[event.fingerprint] = on_failure(current.get(event.fingerprint), event, now)
            continue
        key = pipeline_key(event.platform, event.group_name, event.process_name)
        for fingerprint, issue in current.items():
            if issue is not None and issue.pipeline_key == key:
                current[fingerprint] = on_success(issue, event.end_time, now)

    updates = [{"issue_id": ids[fp], **_row(issue)} for fp, issue in current.items()
               if issue is not None and issue != before[fp]]
    if updates:
        # Bound under other names: SQLAlchemy keeps a column's own name for the SET clause it builds itself.
        statement = t.update().where(t.c.id == bindparam("issue_id")).values(
            {name: bindparam(f"new_{name}") for name in updates[0] if name != "issue_id"})
        conn.execute(statement, [{("issue_id" if k == "issue_id" else f"new_{k}"): v for k, v in u.items()}
                                 for u in updates])
    return [
        IssueChange(ids[fp], fp, None if before[fp] is None else before[fp].state, issue.state, issue)
        for fp, issue in current.items()
        if issue is not None and (before[fp] is None or before[fp].state != issue.state)
    ]


def resolved(changes: Sequence[IssueChange]) -> list[IssueChange]:
    """The changes that resolved an issue: what recovery notices are about."""
    return [change for change in changes if change.new_state == RESOLVED]


@dataclass(frozen=True)
class IssueFilter:
    state: str | None = None
    platform: str | None = None
    group: str | None = None
    process: str | None = None


def list_issues(conn: Connection, tables: Tables, flt: IssueFilter, limit: int,
                cursor: str | None) -> tuple[list[Any], str | None]:
    """Most recently failing first, keyset-paginated as failures are."""
    t = tables.issues
    # A placeholder (occurrences 0) exists only inside an uncommitted ingest transaction; never listed.
    query = select(t).where(t.c.occurrences > 0)
    if flt.state:
        query = query.where(t.c.state == flt.state)
    if flt.platform:
        query = query.where(t.c.platform == flt.platform)
    if flt.group:
        query = query.where(t.c.group_name == flt.group)
    if flt.process:
        query = query.where(t.c.process_name == flt.process)
    return keyset_page(conn, query, t.c.last_seen, t.c.id, limit, cursor)


def count_by_state(conn: Connection, tables: Tables) -> dict[str, int]:
    """Issues per state (every state present, zero when none), placeholders left out as ``list_issues`` does."""
    t = tables.issues
    query = select(t.c.state, func.count()).where(t.c.occurrences > 0).group_by(t.c.state)
    return dict.fromkeys(STATES, 0) | dict(conn.execute(query).all())


def issue_of(conn: Connection, tables: Tables, fingerprint: str) -> Any | None:
    t = tables.issues
    return conn.execute(select(t).where(and_(t.c.fingerprint == fingerprint, t.c.occurrences > 0))).first()


def issues_by_fingerprint(conn: Connection, tables: Tables, fingerprints: Sequence[str]) -> dict[str, Any]:
    if not fingerprints:
        return {}
    t = tables.issues
    rows = conn.execute(select(t).where(t.c.fingerprint.in_(sorted(set(fingerprints)))))
    return {row.fingerprint: row for row in rows}


def resolved_since(conn: Connection, tables: Tables, since: datetime) -> list[Any]:
    """Issues resolved at or after ``since`` (the API's clock, ``state_changed_at``) and still resolved."""
    t = tables.issues
    query = select(t).where(and_(t.c.state == RESOLVED, t.c.state_changed_at >= since)).order_by(t.c.id)
    return list(conn.execute(query))


def issue_to_dict(row: Any) -> dict[str, Any]:
    """The API's view of an issue row."""
    data = row._mapping
    return {
        "id": data["id"], "fingerprint": data["fingerprint"], "state": data["state"],
        "platform": data["platform"], "group": data["group_name"], "process": data["process_name"],
        "error_type": data["error_type"], "last_failure_id": data["last_failure_id"],
        "first_seen": data["first_seen"], "last_seen": data["last_seen"], "occurrences": data["occurrences"],
        "consecutive_failed_runs": data["consecutive_failed_runs"], "failing_since": data["failing_since"],
        "resolved_at": data["resolved_at"], "last_run_outcome": data["last_run_outcome"],
        "state_changed_at": data["state_changed_at"],
    }
