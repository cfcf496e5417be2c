"""Sending alerts: claim with a lease, send, record; bounded retries with exponential backoff and jitter."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import Engine, and_, func, or_, select, update

from otelmon.alerting.compose import compose
from otelmon.alerting.outbox import NEW
from otelmon.config import Settings
from otelmon.storage.tables import Tables

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
CLAIM_LIMIT = 50


def lease_seconds(settings: Settings) -> float:
    # Longer than one SMTP conversation can take, so only a dead sender's alerts are taken over.
    return max(60.0, 4 * settings.smtp_timeout_seconds)


def backoff_seconds(settings: Settings, attempts: int) -> float:
    ceiling = min(settings.alert_backoff_max_seconds, settings.alert_backoff_initial_seconds * 2 ** (attempts - 1))
    return ceiling * random.uniform(0.5, 1.0)


@dataclass
class Claimed:
    alert_id: int
    kind: str
    attempts: int
    message: EmailMessage | None
    error: str | None = None


def claim(engine: Engine, tables: Tables, settings: Settings, now: datetime) -> list[Claimed]:
    """Take due alerts (and those of a sender that died mid-send) and compose their emails."""
    a = tables.alerts
    with engine.begin() as conn:
        rows = conn.execute(
            select(a)
            .where(or_(and_(a.c.state == PENDING, a.c.next_attempt_at <= now),
                       and_(a.c.state == SENDING, a.c.lease_until < now)))
            .order_by(a.c.next_attempt_at, a.c.id)
            .limit(CLAIM_LIMIT)
            .with_for_update(skip_locked=True)
        ).all()
        if not rows:
            return []
        conn.execute(
            update(a).where(a.c.id.in_([r.id for r in rows]))
            .values(state=SENDING, attempts=a.c.attempts + 1,
                    lease_until=now + timedelta(seconds=lease_seconds(settings)))
        )
        claimed = []
        for row in rows:
            try:
                message = compose(conn, tables, settings, row)
                claimed.append(Claimed(row.id, row.kind, row.attempts + 1, message))
            except Exception as exc:  # noqa: BLE001 - one bad alert must not stop the others
                claimed.append(Claimed(row.id, row.kind, row.attempts + 1, None, f"compose: {exc!r}"))
        return claimed


def record(engine: Engine, tables: Tables, settings: Settings, results: list[tuple[Claimed, Exception | None]],
           now: datetime) -> tuple[int, int]:
    """Store each outcome; returns (sent, failed for good)."""
    a = tables.alerts
    sent = failed = 0
    with engine.begin() as conn:
        for item, error in results:
            if error is None and item.error is None:
                assert item.message is not None
                conn.execute(update(a).where(a.c.id == item.alert_id).values(
                    state=SENT, sent_at=now, lease_until=None, last_error=None,
                    subject=str(item.message["Subject"])[:255], message_id=item.message["Message-ID"]))
                sent += 1
                continue
            reason = item.error or f"{type(error).__name__}: {error}"
            if item.attempts >= settings.alert_max_attempts:
                conn.execute(update(a).where(a.c.id == item.alert_id).values(
                    state=FAILED, lease_until=None, last_error=reason[:2000]))
                failed += 1
            else:
                retry_at = now + timedelta(seconds=backoff_seconds(settings, item.attempts))
                conn.execute(update(a).where(a.c.id == item.alert_id).values(
                    state=PENDING, next_attempt_at=retry_at, lease_until=None, last_error=reason[:2000]))
    return sent, failed


def next_due(engine: Engine, tables: Tables) -> datetime | None:
    """The earliest moment there is something to dispatch or send."""
    a, ob = tables.alerts, tables.alert_outbox
    with engine.connect() as conn:
        first_new = conn.execute(select(func.min(ob.c.due_at)).where(ob.c.state == NEW)).scalar()
        first_retry = conn.execute(select(func.min(a.c.next_attempt_at)).where(a.c.state == PENDING)).scalar()
    moments = [m for m in (first_new, first_retry) if m is not None]
    return min(moments) if moments else None


def backlog(engine: Engine, tables: Tables) -> int:
    a, ob = tables.alerts, tables.alert_outbox
    with engine.connect() as conn:
        waiting = conn.execute(select(func.count()).where(ob.c.state == NEW)).scalar_one()
        unsent = conn.execute(select(func.count()).where(a.c.state.in_([PENDING, SENDING]))).scalar_one()
    return waiting + unsent
