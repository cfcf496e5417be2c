"""Delivering alerts: route, claim with a lease, send, record; per target, bounded retries with backoff.

An alert is delivered to every target its route names (docs/design.md "Notification channels"): one
``alert_deliveries`` row per (alert, receiver, integration, target), each with its own attempts, backoff,
lease and last error, so a channel that is down never delays or repeats another. The alert row keeps the
summary a person reads first: sent once every delivery is, failed once none is left to try and one failed,
its attempts the most any delivery made.

Routing happens when an alert is first claimed, from the configuration of the process claiming it: an alert
whose routes give no target is set aside as ``unroutable`` (no attempt counted) and ``reroute`` brings it
back once the configuration gives it somewhere to go.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, case, false, func, select, true, update

from otelmon.alerting.notifiers import Notifiers
from otelmon.alerting.notify.base import Delivered, Outcome, PermanentFailure, RetryLater
from otelmon.alerting.outbox import NEW
from otelmon.alerting.routing import Labels
from otelmon.alerting.view import Built, build_views
from otelmon.config import Settings
from otelmon.storage.database import write_transaction
from otelmon.storage.installation import installation_id
from otelmon.storage.secret_key import secret_key
from otelmon.storage.tables import Tables

PENDING, SENDING, SENT, FAILED = "pending", "sending", "sent", "failed"
UNROUTABLE, CANCELLED = "unroutable", "cancelled"
STATES = (PENDING, SENDING, SENT, FAILED, UNROUTABLE, CANCELLED)
# Unroutable alerts read per query when looking for those the configuration now routes.
_REROUTE_PAGE = 500
# Small claims: an alert is sent as soon as its own batch is rendered, not after hundreds of others. Alerts
# are routed up to fifty at a time (routing ten a cycle capped the sender near 100 alerts/s: measured, email
# p50 2.6 s at 100/s against 0.6 s with fifty); deliveries are claimed up to fifty.
ROUTE_LIMIT = 50
CLAIM_LIMIT = 50
# A repeat of a fingerprint joins the thread of its previous message to the same target when that was sent
# within this window; after it, a new thread starts (an old thread is out of sight).
THREAD_WINDOW = timedelta(hours=24)
_ERROR_CHARS = 2000


def lease_seconds(settings: Settings) -> float:
    # Longer than one SMTP conversation or HTTP call can take, so only a dead sender's work is taken over;
    # set shorter for a faster takeover after a crash (sends are then cut at half of it).
    if settings.alert_lease_seconds is not None:
        return settings.alert_lease_seconds
    return max(60.0, 4 * settings.smtp_timeout_seconds)


def backoff_seconds(settings: Settings, attempts: int) -> float:
    ceiling = min(settings.alert_backoff_max_seconds, settings.alert_backoff_initial_seconds * 2 ** (attempts - 1))
    return ceiling * random.uniform(0.5, 1.0)


@dataclass
class Claimed:
    """One delivery of one alert, claimed and rendered: ``message`` is the payload (an ``OutgoingEmail`` for
    email), None when it could not be rendered (``error`` says why)."""

    alert_id: int
    kind: str
    attempts: int  # of this delivery, this one included
    message: Any | None
    error: str | None = None
    claimed_at: float = field(default_factory=time.monotonic)  # when the lease began (at latest)
    delivery_id: int = 0
    receiver: str = ""
    integration: str = "email"
    target: int = 0
    thread: str | None = None  # the first message of the thread this one joins
    permanent: bool = False  # ``error`` cannot go away by retrying (the target left the configuration)
    title: str | None = None
    # The lease this claim wrote: an outcome is recorded only while the row still carries it (another sender
    # that took the delivery over after the lease ran out wrote its own).
    lease_until: datetime | None = None


def lease_expired(item: Claimed, settings: Settings) -> bool:
    """Another sender may have taken the delivery over: this claim must neither send it now nor record an
    outcome for it late."""
    return time.monotonic() - item.claimed_at >= lease_seconds(settings)


def claim(engine: Engine, tables: Tables, settings: Settings, now: datetime, limit: int = CLAIM_LIMIT,
          notifiers: Notifiers | None = None, exclude: frozenset[str] = frozenset()) -> list[Claimed]:
    """Route new alerts, then take due deliveries (and those of a sender that died mid-send) and render them;
    none of the integrations in ``exclude`` (the sender has as many of theirs in flight as it allows)."""
    notifiers = notifiers or Notifiers(settings)
    a, d = tables.alerts, tables.alert_deliveries
    claimed_at = time.monotonic()
    lease_until = now + timedelta(seconds=lease_seconds(settings))
    with write_transaction(engine) as conn:
        if not notifiers.context.installation:
            notifiers.context.installation = installation_id(conn)
        if notifiers.secret is None:
            notifiers.secret = secret_key(conn, settings)
        built = _route_new(conn, tables, settings, notifiers, now, ROUTE_LIMIT)
        others = d.c.integration.not_in(sorted(exclude)) if exclude else true()
        # Two queries, each an index range: with one OR of both, MariaDB sorted the whole due backlog (and
        # locked what it read) to take ten rows.
        rows = conn.execute(
            select(d).where(d.c.state == PENDING, d.c.next_attempt_at <= now, others)
            .order_by(d.c.next_attempt_at, d.c.id).limit(limit).with_for_update(skip_locked=True)
        ).all()
        if len(rows) < limit:
            rows += conn.execute(
                select(d).where(d.c.state == SENDING, d.c.lease_until < now, others)
                .order_by(d.c.lease_until, d.c.id).limit(limit - len(rows)).with_for_update(skip_locked=True)
            ).all()
        if not rows:
            return []
        conn.execute(update(d).where(d.c.id.in_([r.id for r in rows]))
                     .values(state=SENDING, attempts=d.c.attempts + 1, lease_until=lease_until))
        alert_ids = sorted({r.alert_id for r in rows})
        _mirror(conn, tables, alert_ids)
        alerts = {r.id: r for r in conn.execute(select(a).where(a.c.id.in_(alert_ids)))}
    # Rendered after the claim commits: no row locks are held while templates render.
    with engine.connect() as conn:
        missing = [alerts[i] for i in alert_ids if i not in built]
        built.update(build_views(conn, tables, settings, missing, notifiers.secret))
        threads = _threads(conn, tables, rows, alerts, now)
    claimed = []
    for row in rows:
        alert = alerts[row.alert_id]
        item = Claimed(row.alert_id, alert.kind, row.attempts + 1, None, claimed_at=claimed_at, delivery_id=row.id,
                       receiver=row.receiver, integration=row.integration, target=row.target,
                       thread=threads.get(row.id), lease_until=lease_until)
        view = built.get(row.alert_id)
        target = notifiers.target(row.receiver, row.integration, row.target)
        if target is None:
            item.error, item.permanent = (f"receiver {row.receiver!r} has no {row.integration} target"
                                          f" #{row.target} any more"), True
        elif isinstance(view, Exception) or view is None:
            item.error = f"compose: {view!r}"
        else:
            item.title = view.view.title
            try:
                item.message = notifiers.notifier(target).render(view.view, item.thread)
            except Exception as exc:  # noqa: BLE001 - one bad render must not stop the others
                item.error = f"compose: {exc!r}"
        claimed.append(item)
    return claimed


def _route_new(conn: Connection, tables: Tables, settings: Settings, notifiers: Notifiers, now: datetime,
               limit: int) -> dict[int, Built | Exception]:
    """Alerts due and not yet routed get their deliveries, or are set aside as unroutable."""
    a = tables.alerts
    fresh = conn.execute(
        select(a).where(a.c.state == PENDING, a.c.routed == false(), a.c.next_attempt_at <= now)
        .order_by(a.c.next_attempt_at, a.c.id).limit(limit).with_for_update(skip_locked=True)
    ).all()
    if not fresh:
        return {}
    built = build_views(conn, tables, settings, fresh, notifiers.secret)
    deliveries: list[dict[str, Any]] = []
    for alert in fresh:
        view = built[alert.id]
        if isinstance(view, Exception):
            # Nothing can be said about it, nor routed: one try counted, retried like a failed send.
            _fail_alert_try(conn, tables, settings, alert, f"compose: {view!r}", now)
            continue
        if alert.kind == "recovery":
            targets = _recovery_targets(conn, tables, notifiers, alert, view.labels)
            if not targets:
                conn.execute(update(a).where(a.c.id == alert.id).values(
                    state=CANCELLED, routed=True, last_error="no target of the alerts it answers has a route"
                    " asking for recovery notices (send_resolved)"))
                continue
        else:
            targets = notifiers.targets_for(view.labels)
        if not targets:
            conn.execute(update(a).where(a.c.id == alert.id).values(
                state=UNROUTABLE, last_error=unroutable_reason(notifiers, view.labels)[:_ERROR_CHARS]))
            continue
        deliveries += [{"alert_id": alert.id, "receiver": t.receiver, "integration": t.integration, "target": t.index,
                        "state": PENDING, "attempts": 0, "next_attempt_at": now, "created_at": now}
                       for t in targets]
    if deliveries:
        conn.execute(tables.alert_deliveries.insert(), deliveries)
        conn.execute(update(a).where(a.c.id.in_({row["alert_id"] for row in deliveries})).values(routed=True))
    return built


def _recovery_targets(conn: Connection, tables: Tables, notifiers: Notifiers, notice: Any,
                      labels: list[Labels]) -> list[Any]:
    """Where a recovery notice goes: every target that got one of the alerts it answers, if that target's
    receiver is still routed these labels by a route that asks for recovery notices."""
    a, d = tables.alerts, tables.alert_deliveries
    asking = {route.receiver for one in labels for route in notifiers.router.routes_for(one) if route.send_resolved}
    got = conn.execute(
        select(d.c.receiver, d.c.integration, d.c.target).distinct().join(a, a.c.id == d.c.alert_id)
        .where(a.c.recovered_by == notice.id, d.c.state == SENT)
    ).all()
    targets = [notifiers.target(r.receiver, r.integration, r.target) for r in got if r.receiver in asking]
    return [t for t in targets if t is not None]


def unroutable_reason(notifiers: Notifiers, labels: list[Labels]) -> str:
    return str(notifiers.router.unroutable([(one.platform, one.group) for one in labels]))


def _fail_alert_try(conn: Connection, tables: Tables, settings: Settings, alert: Any, reason: str,
                    now: datetime) -> None:
    a = tables.alerts
    attempts = alert.attempts + 1
    if attempts >= settings.alert_max_attempts:
        values = {"state": FAILED}
    else:
        values = {"next_attempt_at": now + timedelta(seconds=backoff_seconds(settings, attempts))}
    conn.execute(update(a).where(a.c.id == alert.id).values(attempts=attempts, last_error=reason[:_ERROR_CHARS],
                                                             **values))


def _threads(conn: Connection, tables: Tables, rows: list[Any], alerts: dict[int, Any],
             now: datetime) -> dict[int, str]:
    """For each claimed delivery, the thread its message joins: the thread of the latest message of the same
    fingerprint to the same target within ``THREAD_WINDOW``."""
    a, d = tables.alerts, tables.alert_deliveries
    out: dict[int, str] = {}
    notices = {r.alert_id for r in rows if alerts[r.alert_id].kind == "recovery"}
    if notices:
        # A recovery notice answers in the thread of the alert it answers, however long ago that was sent.
        answered: dict[tuple[int, str, str, int], str] = {}
        for sent in conn.execute(
            select(a.c.recovered_by, d.c.receiver, d.c.integration, d.c.target, d.c.thread, d.c.reference)
            .join(a, a.c.id == d.c.alert_id)
            .where(a.c.recovered_by.in_(notices), d.c.state == SENT, d.c.reference.is_not(None))
            .order_by(d.c.sent_at)
        ):
            answered[(sent.recovered_by, sent.receiver, sent.integration, sent.target)] = sent.thread or sent.reference
        for r in rows:
            if (r.alert_id, r.receiver, r.integration, r.target) in answered:
                out[r.id] = answered[(r.alert_id, r.receiver, r.integration, r.target)]
    fingerprints = {alerts[r.alert_id].fingerprint for r in rows
                    if alerts[r.alert_id].fingerprint and r.alert_id not in notices}
    if not fingerprints:
        return out
    latest: dict[tuple[str, str, str, int], str] = {}
    for sent in conn.execute(
        select(a.c.fingerprint, d.c.receiver, d.c.integration, d.c.target, d.c.thread, d.c.reference)
        .join(a, a.c.id == d.c.alert_id)
        .where(a.c.fingerprint.in_(fingerprints), d.c.state == SENT, d.c.reference.is_not(None),
               d.c.sent_at > now - THREAD_WINDOW)
        .order_by(d.c.sent_at)
    ):
        latest[(sent.fingerprint, sent.receiver, sent.integration, sent.target)] = sent.thread or sent.reference
    for r in rows:
        if r.alert_id in notices:
            continue
        key = (alerts[r.alert_id].fingerprint, r.receiver, r.integration, r.target)
        if key in latest:
            out[r.id] = latest[key]
    return out


def _mirror(conn: Connection, tables: Tables, alert_ids: list[int]) -> dict[int, str]:
    """Bring each alert's summary in line with its deliveries; returns the alerts that became sent or failed."""
    a, d = tables.alerts, tables.alert_deliveries
    if not alert_ids:
        return {}
    current = {r.id: r.state for r in conn.execute(select(a.c.id, a.c.state).where(a.c.id.in_(alert_ids)))}
    by_alert: dict[int, list[Any]] = {i: [] for i in alert_ids}
    for row in conn.execute(select(d).where(d.c.alert_id.in_(alert_ids)).order_by(d.c.id)):
        by_alert[row.alert_id].append(row)
    settled: dict[int, str] = {}
    for alert_id, rows in by_alert.items():
        if not rows or current.get(alert_id) in (CANCELLED, None):
            continue
        states = {r.state for r in rows}
        errors = [f"{r.integration} ({r.receiver}): {r.last_error}" for r in rows if r.last_error]
        values: dict[str, Any] = {"attempts": max(r.attempts for r in rows),
                                  "last_error": "; ".join(errors)[:_ERROR_CHARS] or None}
        if SENDING in states:
            values |= {"state": SENDING, "lease_until": max(r.lease_until for r in rows if r.state == SENDING)}
        elif PENDING in states:
            values |= {"state": PENDING, "lease_until": None,
                       "next_attempt_at": min(r.next_attempt_at for r in rows if r.state == PENDING)}
        elif states <= {SENT, CANCELLED} and SENT in states:
            values |= {"state": SENT, "lease_until": None, "sent_at": max(r.sent_at for r in rows if r.sent_at)}
        else:
            values |= {"state": FAILED if FAILED in states else CANCELLED, "lease_until": None}
        if values["state"] in (SENT, FAILED) and current[alert_id] != values["state"]:
            settled[alert_id] = values["state"]
        conn.execute(update(a).where(a.c.id == alert_id).values(**values))
    return settled


@dataclass
class Recorded:
    sent: int = 0  # alerts now sent to every target
    failed: int = 0  # alerts now given up (some target failed for good)
    outcomes: list[tuple[str, str]] = field(default_factory=list)  # (integration, delivered|retry|failed)


def record(engine: Engine, tables: Tables, settings: Settings,
           results: list[tuple[Claimed, Outcome | Exception | None]], now: datetime) -> Recorded:
    """Store each delivery's outcome (None: delivered; an exception: a failed try) and update its alert."""
    a, d = tables.alerts, tables.alert_deliveries
    stats = Recorded()
    delivered: dict[int, tuple[Claimed, str | None]] = {}
    with engine.begin() as conn:
        for item, result in results:
            outcome = _outcome(item, result)
            if isinstance(outcome, Delivered):
                delivered[item.delivery_id] = (item, outcome.reference)
                stats.outcomes.append((item.integration, "delivered"))
                continue
            retry = isinstance(outcome, RetryLater) and item.attempts < settings.alert_max_attempts
            values: dict[str, Any] = {"lease_until": None, "last_error": outcome.reason[:_ERROR_CHARS]}
            if retry:
                wait = outcome.after_seconds if outcome.after_seconds is not None else backoff_seconds(
                    settings, item.attempts)
                values |= {"state": PENDING, "next_attempt_at": now + timedelta(seconds=wait)}
            else:
                values["state"] = FAILED
            # Conditional: a delivery cancelled meanwhile stays cancelled, and one another sender took over
            # (this claim's lease ran out) is that sender's to record.
            conn.execute(update(d).where(d.c.id == item.delivery_id, d.c.state == SENDING,
                                         d.c.lease_until == item.lease_until).values(**values))
            stats.outcomes.append((item.integration, "retry" if retry else "failed"))
        if delivered:
            references = {i: ref[:255] for i, (_, ref) in delivered.items() if ref}
            threads = {i: (item.thread or ref)[:255] for i, (item, ref) in delivered.items() if item.thread or ref}
            # The vendor has the message, whoever holds the row now: recorded unless it was settled already.
            conn.execute(
                update(d).where(d.c.id.in_(list(delivered)), d.c.state.in_([SENDING, PENDING]))
                .values(state=SENT, sent_at=now, lease_until=None, last_error=None,
                        reference=case(references, value=d.c.id, else_=None) if references else None,
                        thread=case(threads, value=d.c.id, else_=None) if threads else None)
            )
        alert_ids = sorted({item.alert_id for item, _ in results})
        settled = _mirror(conn, tables, alert_ids)
        _note_email(conn, tables, [item for item, _ in delivered.values()])
        stats.sent = sum(1 for state in settled.values() if state == SENT)
        stats.failed = sum(1 for state in settled.values() if state == FAILED)
        # An alert with no email target is named by its title in the columns made for emails.
        titled = {item.alert_id: f"[OtelMon] {item.title}"[:255] for item, _ in delivered.values()
                  if item.integration != "email" and item.title}
        if titled:
            conn.execute(update(a).where(a.c.id.in_(list(titled)), a.c.subject.is_(None))
                         .values(subject=case(titled, value=a.c.id)))
    return stats


def _outcome(item: Claimed, result: Outcome | Exception | None) -> Outcome:
    if item.error is not None:
        return PermanentFailure(item.error) if item.permanent else RetryLater(item.error)
    if result is None:
        return Delivered(getattr(item.message, "message_id", None))
    if isinstance(result, Exception):
        return RetryLater(f"{type(result).__name__}: {result}")
    return result


def _note_email(conn: Connection, tables: Tables, items: list[Claimed]) -> None:
    """The alert row names what its emails said: subject, Message-ID and every address it reached."""
    a = tables.alerts
    emails = [i for i in items if i.integration == "email" and i.message is not None]
    if not emails:
        return
    reached: dict[int, list[str]] = {}
    for alert_id, recipients in conn.execute(select(a.c.id, a.c.recipients).where(
            a.c.id.in_({i.alert_id for i in emails}))):
        reached[alert_id] = json.loads(recipients or "[]")
    for item in emails:
        reached[item.alert_id] += [r for r in item.message.recipients if r not in reached[item.alert_id]]
    conn.execute(update(a).where(a.c.id.in_(list(reached))).values(
        subject=case({i.alert_id: i.message.subject[:255] for i in emails}, value=a.c.id),
        message_id=case({i.alert_id: i.message.message_id for i in emails}, value=a.c.id),
        recipients=case({k: json.dumps(v) for k, v in reached.items()}, value=a.c.id)))


def reroute(engine: Engine, tables: Tables, settings: Settings, now: datetime, after_id: int = 0,
            notifiers: Notifiers | None = None) -> tuple[int, int]:
    """Unroutable alerts (with an id above ``after_id``) that the current configuration can deliver go back to
    pending, due at once. Returns how many, and the highest id looked at: routing is a function of the
    configuration, so a caller whose configuration does not change need only look past it next time. Costs
    nothing while nothing at all can be routed."""
    notifiers = notifiers or Notifiers(settings)
    if not notifiers.router.can_route_any():
        return 0, after_id
    a, f, ob = tables.alerts, tables.failures, tables.alert_outbox
    routable: list[int] = []
    with engine.connect() as conn:
        while True:
            heads = conn.execute(
                select(a.c.id, a.c.kind, f.c.platform, f.c.group_name, f.c.process_name, f.c.attributes)
                .outerjoin(f, f.c.id == a.c.head_failure_id)
                .where(a.c.state == UNROUTABLE, a.c.id > after_id).order_by(a.c.id).limit(_REROUTE_PAGE)
            ).all()
            if not heads:
                break
            after_id = heads[-1].id
            routable += [h.id for h in heads if h.kind != "summary" and h.platform is not None
                         and notifiers.targets_for([Labels.of_failure(h)])]
            summaries = [h.id for h in heads if h.kind == "summary"]
            if summaries:
                pipelines: dict[int, set[Labels]] = {i: set() for i in summaries}
                for alert_id, platform, group, process in conn.execute(
                    select(ob.c.alert_id, f.c.platform, f.c.group_name, f.c.process_name).distinct()
                    .join(f, f.c.id == ob.c.failure_id).where(ob.c.alert_id.in_(summaries))
                ):
                    pipelines[alert_id].add(Labels(platform, group, process))
                routable += [i for i, labels in pipelines.items() if notifiers.targets_for(labels)]
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


def release(engine: Engine, tables: Tables, items: list[Claimed]) -> None:
    """Give back claimed deliveries that were never tried (the sender is stopping): due again at once, for
    whichever replica runs next, and the claim does not count as an attempt."""
    if not items:
        return
    d = tables.alert_deliveries
    with engine.begin() as conn:
        for item in items:  # only while the row still carries this claim's lease
            conn.execute(
                update(d).where(d.c.id == item.delivery_id, d.c.state == SENDING, d.c.lease_until == item.lease_until)
                .values(state=PENDING, attempts=d.c.attempts - 1, lease_until=None)
            )
        _mirror(conn, tables, sorted({i.alert_id for i in items}))


def next_retry(engine: Engine, tables: Tables) -> datetime | None:
    """When the earliest delivery waiting for a retry (or alert waiting to be routed) is due."""
    a, d = tables.alerts, tables.alert_deliveries
    with engine.connect() as conn:
        retry = conn.execute(select(func.min(d.c.next_attempt_at)).where(d.c.state == PENDING)).scalar()
        routing = conn.execute(select(func.min(a.c.next_attempt_at)).where(
            a.c.state == PENDING, a.c.routed == false())).scalar()
    due = [t for t in (retry, routing) if t is not None]
    return min(due) if due else None


def backlog(engine: Engine, tables: Tables) -> int:
    a, ob = tables.alerts, tables.alert_outbox
    with engine.connect() as conn:
        waiting = conn.execute(select(func.count()).where(ob.c.state == NEW)).scalar_one()
        # Unroutable alerts count too: they are unsent work, and the backlog alert should show them.
        unsent = conn.execute(
            select(func.count()).where(a.c.state.in_([PENDING, SENDING, UNROUTABLE]))).scalar_one()
    return waiting + unsent
