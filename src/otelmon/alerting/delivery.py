"""Sending alerts: claim with a lease, send, record; bounded retries with exponential backoff and jitter.

An alert whose recipients resolve to nobody is not a failed try: it is set aside as ``unroutable`` (its
attempt given back) and ``reroute`` brings it back once the configuration gives it somewhere to go.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, and_, case, func, or_, select, update

from otelmon.alerting.compose import compose_batch
from otelmon.alerting.outbox import NEW
from otelmon.alerting.routing import Unroutable, can_route_any, recipients_for, recipients_for_many
from otelmon.config import Settings
from otelmon.email.message import OutgoingEmail
from otelmon.storage.database import write_transaction
from otelmon.storage.installation import installation_id
from otelmon.storage.tables import Tables

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
UNROUTABLE, CANCELLED = "unroutable", "cancelled"
STATES = (PENDING, SENDING, SENT, FAILED, UNROUTABLE, CANCELLED)
# Unroutable alerts read per query when looking for those the configuration now routes.
_REROUTE_PAGE = 500
# Small claims: an alert is sent as soon as its own batch is composed, not after fifty others.
CLAIM_LIMIT = 10


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
    message: OutgoingEmail | None
    error: str | None = None
    claimed_at: float = field(default_factory=time.monotonic)  # when the lease began (at latest)


def lease_expired(item: Claimed, settings: Settings) -> bool:
    """Another sender may have taken the alert over: this claim must neither send it now nor record an
    outcome for it late."""
    return time.monotonic() - item.claimed_at >= lease_seconds(settings)


def claim(engine: Engine, tables: Tables, settings: Settings, now: datetime, limit: int = CLAIM_LIMIT) -> list[Claimed]:
    """Take due alerts (and those of a sender that died mid-send) and compose their emails."""
    a = tables.alerts
    claimed_at = time.monotonic()
    with write_transaction(engine) as conn:
        rows = conn.execute(
            select(a)
            .where(or_(and_(a.c.state == PENDING, a.c.next_attempt_at <= now),
                       and_(a.c.state == SENDING, a.c.lease_until < now)))
            .order_by(a.c.next_attempt_at, a.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        if not rows:
            return []
        conn.execute(
            update(a).where(a.c.id.in_([r.id for r in rows]))
            .values(state=SENDING, attempts=a.c.attempts + 1,
                    lease_until=now + timedelta(seconds=lease_seconds(settings)))
        )
        installation = installation_id(conn)
    # Composed after the claim commits: no row locks are held while templates render.
    with engine.connect() as conn:
        emails = compose_batch(conn, tables, settings, rows, installation)
    unroutable = {r.id: str(emails[r.id]) for r in rows if isinstance(emails[r.id], Unroutable)}
    if unroutable:
        _set_aside(engine, tables, unroutable)
    claimed = []
    for row in rows:
        email = emails[row.id]
        if row.id in unroutable:
            continue
        if isinstance(email, Exception):
            claimed.append(Claimed(row.id, row.kind, row.attempts + 1, None, f"compose: {email!r}", claimed_at))
        else:
            claimed.append(Claimed(row.id, row.kind, row.attempts + 1, email, claimed_at=claimed_at))
    return claimed


def record(engine: Engine, tables: Tables, settings: Settings, results: list[tuple[Claimed, Exception | None]],
           now: datetime) -> tuple[int, int]:
    """Store each outcome; returns (sent, failed for good)."""
    a = tables.alerts
    delivered = [item for item, error in results if error is None and item.error is None]
    sent, failed = len(delivered), 0
    with engine.begin() as conn:
        if delivered:
            # One statement for the whole batch; subject and Message-ID picked per alert id.
            subjects = {i.alert_id: i.message.subject[:255] for i in delivered if i.message is not None}
            message_ids = {i.alert_id: i.message.message_id for i in delivered if i.message is not None}
            sent_to = {i.alert_id: json.dumps(i.message.recipients) for i in delivered if i.message is not None}
            conn.execute(
                update(a).where(a.c.id.in_(list(subjects)))
                .values(state=SENT, sent_at=now, lease_until=None, last_error=None,
                        subject=case(subjects, value=a.c.id), message_id=case(message_ids, value=a.c.id),
                        recipients=case(sent_to, value=a.c.id))
            )
        for item, error in results:
            if error is None and item.error is None:
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


def _set_aside(engine: Engine, tables: Tables, reasons: dict[int, str]) -> None:
    """Claimed alerts with nowhere to go: unroutable, with the reason, and the claim not counted as a try."""
    a = tables.alerts
    with engine.begin() as conn:
        for alert_id, reason in reasons.items():
            conn.execute(update(a).where(a.c.id == alert_id, a.c.state == SENDING).values(
                state=UNROUTABLE, attempts=a.c.attempts - 1, lease_until=None, last_error=reason[:2000]))


def reroute(engine: Engine, tables: Tables, settings: Settings, now: datetime, after_id: int = 0) -> tuple[int, int]:
    """Unroutable alerts (with an id above ``after_id``) that the current configuration can deliver go back to
    pending, due at once. Returns how many, and the highest id looked at: routing is a function of the
    settings, so a caller whose settings do not change need only look past it next time. Costs nothing
    while no pipeline has a recipient."""
    if not can_route_any(settings):
        return 0, after_id
    a, f, ob = tables.alerts, tables.failures, tables.alert_outbox
    routable: list[int] = []
    with engine.connect() as conn:
        while True:
            heads = conn.execute(
                select(a.c.id, a.c.kind, f.c.platform, f.c.group_name)
                .outerjoin(f, f.c.id == a.c.head_failure_id)
                .where(a.c.state == UNROUTABLE, a.c.id > after_id).order_by(a.c.id).limit(_REROUTE_PAGE)
            ).all()
            if not heads:
                break
            after_id = heads[-1].id
            routable += [h.id for h in heads if h.kind != "summary" and h.platform is not None
                         and recipients_for(settings, h.platform, h.group_name)]
            summaries = [h.id for h in heads if h.kind == "summary"]
            if summaries:
                pipelines: dict[int, set[tuple[str, str]]] = {i: set() for i in summaries}
                for alert_id, platform, group in conn.execute(
                    select(ob.c.alert_id, f.c.platform, f.c.group_name).distinct()
                    .join(f, f.c.id == ob.c.failure_id).where(ob.c.alert_id.in_(summaries))
                ):
                    pipelines[alert_id].add((platform, group))
                routable += [i for i, p in pipelines.items() if recipients_for_many(settings, p)]
            if len(heads) < _REROUTE_PAGE:
                break
    if not routable:
        return 0, after_id
    with engine.begin() as conn:
        moved = conn.execute(
            update(a).where(a.c.id.in_(routable), a.c.state == UNROUTABLE)
            .values(state=PENDING, next_attempt_at=now, last_error=None)
        ).rowcount
    return moved, after_id


def release(engine: Engine, tables: Tables, alert_ids: list[int]) -> None:
    """Give back claimed alerts that were never tried (the sender is stopping): due again at once, for
    whichever replica runs next, and the claim does not count as an attempt."""
    if not alert_ids:
        return
    a = tables.alerts
    with engine.begin() as conn:
        conn.execute(
            update(a).where(a.c.id.in_(alert_ids), a.c.state == SENDING)
            .values(state=PENDING, attempts=a.c.attempts - 1, lease_until=None)
        )


def next_retry(engine: Engine, tables: Tables) -> datetime | None:
    """When the earliest alert waiting for a retry is due."""
    a = tables.alerts
    with engine.connect() as conn:
        return conn.execute(select(func.min(a.c.next_attempt_at)).where(a.c.state == PENDING)).scalar()


def backlog(engine: Engine, tables: Tables) -> int:
    a, ob = tables.alerts, tables.alert_outbox
    with engine.connect() as conn:
        waiting = conn.execute(select(func.count()).where(ob.c.state == NEW)).scalar_one()
        # Unroutable alerts count too: they are unsent work, and the backlog alert should show them.
        unsent = conn.execute(
            select(func.count()).where(a.c.state.in_([PENDING, SENDING, UNROUTABLE]))).scalar_one()
    return waiting + unsent
