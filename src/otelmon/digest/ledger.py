"""The ``digests`` table: one row per digest email, claimed -> sent, with its complete message.

A send that fails marks the row ``send_failed``: nobody is sending it any more, so the next run (whoever
starts it) takes it over at once instead of waiting for the failed run's lease; it goes back to ``claimed``
under its new sender. Only a sender that died (a crash, a kill) leaves a lease to wait for.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, or_, select, update

from otelmon.storage.tables import Tables

# given_up: tried digest_max_attempts times; its failures were handed back to the next digest.
CLAIMED, SEND_FAILED, SENT, GIVEN_UP = "claimed", "send_failed", "sent", "given_up"
UNSENT = (CLAIMED, SEND_FAILED)
_ERROR_CHARS = 2000


def insert_claim(
    conn: Connection, t: Tables, *, owner: str, now: datetime, lease: timedelta, window_start: datetime,
    recipients: list[str],
) -> int:
    result = conn.execute(
        t.digests.insert().values(
            state=CLAIMED, window_start=window_start, window_end=now, failure_count=0,
            recipients=json.dumps(recipients), claimed_by=owner, lease_until=now + lease, attempts=0,
            claimed_at=now,
        )
    )
    return int(result.inserted_primary_key[0])


def store_message(
    conn: Connection, t: Tables, digest_id: int, *, failure_count: int, subject: str, message_id: str,
    message: str,
) -> None:
    conn.execute(
        update(t.digests).where(t.digests.c.id == digest_id).values(
            failure_count=failure_count, subject=subject[:255], message_id=message_id, message=message,
            message_bytes=len(message),
        )
    )


def unsent(conn: Connection, t: Tables) -> list[Any]:
    d = t.digests
    return list(conn.execute(
        select(d.c.id, d.c.claimed_by, d.c.lease_until, d.c.failure_count, d.c.attempts)
        .where(d.c.state.in_(UNSENT)).order_by(d.c.id)
    ))


def take_lease(engine: Engine, t: Tables, digest_id: int, *, owner: str, now: datetime,
               lease: timedelta) -> Any | None:
    """Become the digest's sender: allowed to its claimer (a retried run), to anyone once the lease ran out
    (its sender died) or once its last send failed.

    A compare-and-set, so two runs never both believe they own a digest; returns the row when taken.
    """
    d = t.digests
    with engine.begin() as conn:
        taken = conn.execute(
            update(d)
            .where(d.c.id == digest_id,
                   or_(d.c.state == SEND_FAILED,
                       and_(d.c.state == CLAIMED, or_(d.c.claimed_by == owner, d.c.lease_until < now))))
            .values(state=CLAIMED, claimed_by=owner, lease_until=now + lease, attempts=d.c.attempts + 1,
                    last_attempt_at=now)
        ).rowcount
        if taken != 1:
            return None
        return conn.execute(select(d).where(d.c.id == digest_id)).one()


def record_failed_send(engine: Engine, t: Tables, digest_id: int, *, owner: str, error: str,
                       max_attempts: int) -> bool:
    """Leave the digest to the next run, unless another run took it over meanwhile (then it is theirs).

    After ``max_attempts`` sends the digest is given up instead, in the same transaction: its failures are
    unclaimed, so the next digest reports them (none is skipped) and nothing waits behind this one.
    Returns True when it was given up.
    """
    d, f = t.digests, t.failures
    with engine.begin() as conn:
        mine = and_(d.c.id == digest_id, d.c.state == CLAIMED, d.c.claimed_by == owner)
        given_up = conn.execute(
            update(d).where(mine, d.c.attempts >= max_attempts).values(state=GIVEN_UP, last_error=error[:_ERROR_CHARS])
        ).rowcount == 1
        if given_up:
            conn.execute(update(f).where(f.c.digest_id == digest_id).values(digest_id=None))
        else:
            conn.execute(update(d).where(mine).values(state=SEND_FAILED, last_error=error[:_ERROR_CHARS]))
    return given_up


def record_sent(engine: Engine, t: Tables, digest_id: int, now: datetime) -> None:
    d = t.digests
    with engine.begin() as conn:
        conn.execute(
            update(d).where(and_(d.c.id == digest_id, d.c.state == CLAIMED))
            .values(state=SENT, sent_at=now, last_error=None)
        )

