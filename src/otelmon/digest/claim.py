"""The claim: new failures get a digest id, and the digest row gets its message, in one transaction.

Two runs at once never claim the same failure: each marks only rows still unreported
(``digest_id IS NULL``), and a row the other run marked first is skipped once its lock is released.
A failure committed after the selection is not marked, so it goes into the next digest.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.exc import DBAPIError

from otelmon.config import Settings
from otelmon.digest import ledger
from otelmon.digest.compose import ComposedDigest, compose_digest
from otelmon.digest.options import DigestOptions
from otelmon.digest.select import select_new_failures
from otelmon.storage.database import read_snapshot
from otelmon.storage.dialect import is_mysql
from otelmon.storage.installation import existing_installation_id, installation_id
from otelmon.storage.tables import Tables

log = logging.getLogger(__name__)

# Bound parameters per UPDATE ... IN (...): far inside SQLite's and MariaDB's limits.
_IDS_PER_STATEMENT = 500
_LOCK_CONFLICT_CODES = {1213, 1205}  # ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT
_MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class Claim:
    digest_id: int
    failure_ids: list[int]
    composed: ComposedDigest


def claim_digest(
    engine: Engine, tables: Tables, settings: Settings, options: DigestOptions, *, owner: str,
    now: datetime, lease: timedelta,
) -> Claim | None:
    """Claim every unreported failure of the window under a new digest; None when there is none."""
    for attempt in range(1, _MAX_ATTEMPTS + 1):
        try:
            return _claim_once(engine, tables, settings, options, owner=owner, now=now, lease=lease)
        except DBAPIError as exc:
            code = exc.orig.args[0] if exc.orig is not None and exc.orig.args else None
            if code not in _LOCK_CONFLICT_CODES or attempt == _MAX_ATTEMPTS:
                raise
            log.info("digest claim hit a lock conflict, retrying (attempt %d)", attempt)
    raise AssertionError("unreachable")


def _claim_once(
    engine: Engine, tables: Tables, settings: Settings, options: DigestOptions, *, owner: str,
    now: datetime, lease: timedelta,
) -> Claim | None:
    window_start = now - options.window
    with engine.connect() as conn:
        if is_mysql(conn.dialect.name):
            # No gap locks: ingestion keeps inserting new failures while a claim (and its rendering) runs.
            conn = conn.execution_options(isolation_level="READ COMMITTED")
        with conn.begin() as transaction:
            # The digest row comes first: on SQLite this takes the write lock, so the selection below
            # cannot be overtaken by another claimer.
            digest_id = ledger.insert_claim(conn, tables, owner=owner, now=now, lease=lease,
                                            window_start=window_start, recipients=options.recipients)
            rows = select_new_failures(conn, window_start)
            claimed = _mark(conn, tables, digest_id, [r.id for r in rows]) if rows else set()
            rows = [r for r in rows if r.id in claimed]
            if not rows:
                transaction.rollback()
                return None
            composed = compose_digest(rows, settings, digest_id=digest_id, recipients=options.recipients,
                                      window_start=window_start, window_end=now, window=options.window,
                                      row_limit=options.row_limit, installation=installation_id(conn))
            email = composed.email
            ledger.store_message(conn, tables, digest_id, failure_count=len(rows), subject=email.subject,
                                 message_id=email.message_id, message=email.data.decode("ascii"))
    return Claim(digest_id, [r.id for r in rows], composed)


def preview_claim(engine: Engine, tables: Tables, settings: Settings, options: DigestOptions, *,
                  now: datetime) -> Claim | None:
    """What ``claim_digest`` would claim now, by reads only: a preview needs no write access and consumes
    no digest id (InnoDB does not give back an AUTO_INCREMENT value that a rolled-back insert took)."""
    window_start = now - options.window
    with read_snapshot(engine) as conn:
        rows = select_new_failures(conn, window_start)
        if not rows:
            return None
        digest_id = (conn.execute(select(func.max(tables.digests.c.id))).scalar() or 0) + 1
        # Created by the first API start or digest run; a preview on a database that has none creates none.
        installation = existing_installation_id(conn) or "not-created-yet"
    composed = compose_digest(rows, settings, digest_id=digest_id, recipients=options.recipients,
                              installation=installation,
                              window_start=window_start, window_end=now, window=options.window,
                              row_limit=options.row_limit)
    return Claim(digest_id, [r.id for r in rows], composed)


def _mark(conn: Connection, tables: Tables, digest_id: int, ids: list[int]) -> set[int]:
    """Mark the still-unreported ones among ``ids``; returns the ids this digest now owns."""
    f = tables.failures
    for start in range(0, len(ids), _IDS_PER_STATEMENT):
        chunk = ids[start : start + _IDS_PER_STATEMENT]
        conn.execute(update(f).where(f.c.id.in_(chunk), f.c.digest_id.is_(None)).values(digest_id=digest_id))
    # A concurrent claimer may have taken some of the selected rows first; only ours are reported.
    return set(conn.execute(select(f.c.id).where(f.c.digest_id == digest_id)).scalars())
