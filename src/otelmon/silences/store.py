"""The ``silences`` table (sql/migrations/010_silences.sql): create, list, expire, acknowledge; and the hook
dispatch calls: which of a pass's failures an active silence holds back."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Connection, Engine, and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from otelmon.clock import utcnow
from otelmon.silences.matching import SilenceIndex
from otelmon.silences.model import ACK, COLUMNS, SILENCE, Silence, check_matchers
from otelmon.storage.tables import Tables

_IDS_PER_STATEMENT = 1000
Listing = Literal["active", "expired", "all"]


class SilenceNotFound(LookupError):
    def __init__(self, silence_id: int) -> None:
        super().__init__(f"silence {silence_id} does not exist")


class AlreadyExpired(ValueError):
    def __init__(self, silence: Silence) -> None:
        super().__init__(f"silence {silence.id} is already expired (since {silence.ended_at():%Y-%m-%d %H:%M:%S} UTC)")


def _silence(row: Any) -> Silence:
    return Silence(id=row.id, kind=row.kind, matchers=json.loads(row.matchers), starts_at=row.starts_at,
                   ends_at=row.ends_at, comment=row.comment, created_by=row.created_by, created_at=row.created_at,
                   expired_at=row.expired_at, fingerprint=row.fingerprint)


def _in_effect(tables: Tables, now: datetime) -> Any:
    """Not expired early and not over yet (pending ones too: a listing shows them)."""
    s = tables.silences
    return and_(or_(s.c.expired_at.is_(None), s.c.expired_at > now), or_(s.c.ends_at.is_(None), s.c.ends_at > now))


def create(conn: Connection, tables: Tables, *, matchers: dict[str, str], starts_at: datetime,
           ends_at: datetime | None, comment: str, created_by: str, now: datetime, kind: str = SILENCE,
           action_key: str | None = None) -> Silence:
    """Insert a silence (checked: matchers as ``check_matchers``; an end after its start and after now).
    With ``action_key`` already used, IntegrityError (the caller reads the existing one)."""
    matchers = check_matchers(matchers)
    if ends_at is not None and ends_at <= starts_at:
        raise ValueError("ends_at must be after starts_at")
    if ends_at is not None and ends_at <= now:
        raise ValueError("ends_at must be in the future")
    s = tables.silences
    values = {"kind": kind, "matchers": json.dumps(matchers, sort_keys=True), "starts_at": starts_at,
              "ends_at": ends_at, "comment": comment, "created_by": created_by, "created_at": now,
              "expired_at": None, "action_key": action_key,
              "fingerprint": matchers.get("fingerprint") if kind == ACK else None}
    new_id = conn.execute(s.insert().values(**values)).inserted_primary_key[0]
    return _silence(conn.execute(select(s).where(s.c.id == new_id)).one())


def get(conn: Connection, tables: Tables, silence_id: int) -> Silence | None:
    s = tables.silences
    row = conn.execute(select(s).where(s.c.id == silence_id)).first()
    return _silence(row) if row is not None else None


def by_action_key(conn: Connection, tables: Tables, action_key: str) -> Silence | None:
    s = tables.silences
    row = conn.execute(select(s).where(s.c.action_key == action_key)).first()
    return _silence(row) if row is not None else None


def list_silences(conn: Connection, tables: Tables, which: Listing, now: datetime, limit: int,
                  before_id: int | None = None) -> list[Silence]:
    """Newest first; ``active`` are those in effect now or later (pending), ``expired`` the others.
    Up to ``limit + 1`` rows: one more than asked tells that an older page exists."""
    s = tables.silences
    query = select(s).order_by(s.c.id.desc()).limit(limit + 1)
    if which == "active":
        query = query.where(_in_effect(tables, now))
    elif which == "expired":
        query = query.where(~_in_effect(tables, now))
    if before_id is not None:
        query = query.where(s.c.id < before_id)
    return [_silence(r) for r in conn.execute(query)]


def count_active(conn: Connection, tables: Tables, now: datetime) -> dict[str, int]:
    """Silences and acknowledgements holding back failures at ``now`` (started, not ended), by kind."""
    s = tables.silences
    query = select(s.c.kind, func.count()).where(_in_effect(tables, now), s.c.starts_at <= now).group_by(s.c.kind)
    return {SILENCE: 0, ACK: 0} | dict(conn.execute(query).all())


def expire(conn: Connection, tables: Tables, silence_id: int, now: datetime) -> Silence:
    """End a silence now. SilenceNotFound, or AlreadyExpired when it had ended (it is left as it was)."""
    s = tables.silences
    changed = conn.execute(
        update(s).where(s.c.id == silence_id, _in_effect(tables, now)).values(expired_at=now)
    ).rowcount
    found = get(conn, tables, silence_id)
    if found is None:
        raise SilenceNotFound(silence_id)
    if not changed:
        raise AlreadyExpired(found)
    return found


def active_ack(conn: Connection, tables: Tables, fingerprint: str, now: datetime) -> Silence | None:
    s = tables.silences
    row = conn.execute(
        select(s).where(s.c.fingerprint == fingerprint, s.c.kind == ACK, _in_effect(tables, now))
        .order_by(s.c.id).limit(1)
    ).first()
    return _silence(row) if row is not None else None


def acknowledge(conn: Connection, tables: Tables, fingerprint: str, *, comment: str, created_by: str,
                now: datetime, action_key: str | None = None) -> tuple[Silence, bool]:
    """Silence an issue (its fingerprint) until it resolves or regresses: (the ack, whether it is new). An
    issue already acknowledged keeps its ack: (that one, False)."""
    existing = active_ack(conn, tables, fingerprint, now)
    if existing is not None:
        return existing, False
    return create(conn, tables, matchers={"fingerprint": fingerprint}, starts_at=now, ends_at=None,
                  comment=comment, created_by=created_by, now=now, kind=ACK, action_key=action_key), True


def end_acks(conn: Connection, tables: Tables, fingerprint: str, now: datetime) -> int:
    """The issue of ``fingerprint`` resolved or regressed: its acknowledgements end now (silences with an
    end of their own are left alone). Returns how many ended. Call it in the transaction that changes the
    issue's state."""
    s = tables.silences
    return conn.execute(
        update(s).where(s.c.fingerprint == fingerprint, s.c.kind == ACK, s.c.expired_at.is_(None))
        .values(expired_at=now)
    ).rowcount


def create_once(engine: Engine, tables: Tables, action_key: str,
                make: Callable[[Connection], tuple[Silence, bool]]) -> tuple[Silence, bool]:
    """Run ``make(conn)`` (which creates a silence carrying ``action_key``, or finds one that already does
    its job: (silence, whether it is new)) in its own transaction, unless that key already made one. Two at
    once: the unique key keeps one, the other's transaction fails and it reads the one kept."""
    try:
        with engine.begin() as conn:
            found = by_action_key(conn, tables, action_key)
            return (found, False) if found is not None else make(conn)
    except IntegrityError:
        with engine.connect() as conn:
            found = by_action_key(conn, tables, action_key)
        if found is None:
            raise
        return found, False


# --- dispatch's hook ------------------------------------------------------------------------------------


def active_index(conn: Connection, tables: Tables, now: datetime) -> SilenceIndex:
    """The silences holding back failures at ``now``: one small read."""
    s = tables.silences
    rows = conn.execute(select(s).where(_in_effect(tables, now), s.c.starts_at <= now))
    return SilenceIndex.of(_silence(r) for r in rows)


def silenced_failure_ids(conn: Connection, tables: Tables, failures: Sequence[Any], now: datetime) -> dict[int, int]:
    """Failure id -> id of the silence holding it back, for those of ``failures`` an active silence matches.

    ``failures`` are rows with ``id`` and, where at hand, ``fingerprint``, ``platform``, ``group_name``,
    ``process_name``, ``error_type``: a label an active silence looks at but a row lacks is read here, by id,
    and only then. Without active silences this is one read of the (small) silences table."""
    index = active_index(conn, tables, now)
    if not index or not failures:
        return {}
    columns = [COLUMNS[key] for key in sorted(index.needed)]
    complete = [f for f in failures if all(hasattr(f, c) for c in columns)]
    rows = complete + _read(conn, tables, [f.id for f in failures if not all(hasattr(f, c) for c in columns)])
    out: dict[int, int] = {}
    decided: dict[tuple, int | None] = {}  # a storm repeats a few pipelines many times: match each once
    for row in rows:
        labels = {key: getattr(row, column) for key, column in COLUMNS.items() if hasattr(row, column)}
        key = tuple(labels.items())
        if key not in decided:
            found = index.first_match(labels)
            decided[key] = found.id if found is not None else None
        if decided[key] is not None:
            out[row.id] = decided[key]
    return out


def holding_issues(conn: Connection, tables: Tables, issues: Sequence[Any], now: datetime) -> dict[str, Silence]:
    """Fingerprint -> the silence (or acknowledgement) in effect now that holds back the failures of that
    issue, for those of ``issues`` (rows of the issues table, which carry a failure's labels) one does."""
    index = active_index(conn, tables, now)
    if not index:
        return {}
    out: dict[str, Silence] = {}
    for issue in issues:
        found = index.first_match({key: getattr(issue, column) for key, column in COLUMNS.items()})
        if found is not None:
            out[issue.fingerprint] = found
    return out


def silence_ids_of(conn: Connection, tables: Tables, failure_ids: Sequence[int]) -> dict[int, int]:
    """Failure id -> the silence that held it back when it was dispatched, for those of ``failure_ids`` that
    one did (what the failure API shows)."""
    ob = tables.alert_outbox
    if not failure_ids:
        return {}
    rows = conn.execute(select(ob.c.failure_id, ob.c.silence_id)
                        .where(ob.c.failure_id.in_(list(failure_ids)), ob.c.silence_id.is_not(None)))
    return {failure_id: silence_id for failure_id, silence_id in rows}


def _read(conn: Connection, tables: Tables, failure_ids: Iterable[int]) -> list[Any]:
    f = tables.failures
    ids = list(failure_ids)
    columns = [f.c.id, *(f.c[column] for column in COLUMNS.values())]
    out: list[Any] = []
    for start in range(0, len(ids), _IDS_PER_STATEMENT):
        out.extend(conn.execute(select(*columns).where(f.c.id.in_(ids[start : start + _IDS_PER_STATEMENT]))))
    return out


def end_acks_of_changed_issues(tables: Tables):  # noqa: ANN201 - an ingest ChangeHook
    """The ingest hook (``FailureIngestor(on_issue_changes=...)``): an issue that resolved or regressed in
    the transaction ends its acknowledgements in the same transaction (docs/design.md "Silences and
    acknowledgement": an ack lasts until the issue resolves or regresses)."""

    def hook(conn: Connection, changes: list) -> None:
        now = utcnow()
        for change in changes:
            if change.new_state in ("resolved", "regressed") and change.old_state != change.new_state:
                end_acks(conn, tables, change.fingerprint, now)

    return hook
