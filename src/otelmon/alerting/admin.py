"""What a person does to one alert (``otelmon alerts``, ``POST /api/v1/alerts/{id}/...``): resend or cancel.

Each is one conditional UPDATE, so it races safely with the sender: an alert being sent right now is
neither cancelled under it nor queued twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, and_, delete, or_, select, update

from otelmon.alerting.delivery import CANCELLED, FAILED, PENDING, SENDING, SENT, UNROUTABLE
from otelmon.clock import utcnow
from otelmon.storage.tables import Tables

RESENDABLE = (SENT, FAILED, UNROUTABLE, CANCELLED)
CANCELLABLE = (PENDING, FAILED, UNROUTABLE)


class AlertNotFound(LookupError):
    def __init__(self, alert_id: int) -> None:
        super().__init__(f"alert {alert_id} does not exist")


class InvalidTransition(ValueError):
    """The alert's state does not allow the action; the message says why."""


def resend(engine: Engine, tables: Tables, alert_id: int) -> Any:
    """Back to pending, tries counted from zero, due now; sent with the same Message-ID. Returns the row.

    A failed alert is tried again at the targets that failed (those that got it do not get it twice); a
    sent, cancelled or unroutable one is routed anew and goes to every target its route names now."""
    values = {"state": PENDING, "attempts": 0, "next_attempt_at": utcnow(), "lease_until": None,
              "last_error": None}

    def deliveries(conn: Connection, previous: str) -> None:
        d = tables.alert_deliveries
        if previous == FAILED:
            conn.execute(update(d).where(d.c.alert_id == alert_id, d.c.state.in_([FAILED, CANCELLED])).values(
                state=PENDING, attempts=0, next_attempt_at=values["next_attempt_at"], lease_until=None,
                last_error=None))
        else:
            conn.execute(delete(d).where(d.c.alert_id == alert_id))
            conn.execute(update(tables.alerts).where(tables.alerts.c.id == alert_id).values(routed=False))

    return _transition(engine, tables, alert_id, "resend", RESENDABLE, values, {
        PENDING: "it is already waiting to be sent",
        SENDING: "it is being sent right now",
    }, then=deliveries)


def cancel(engine: Engine, tables: Tables, alert_id: int) -> Any:
    """Never sent (unless resent). Returns the row. An alert whose sender died mid-send (its lease ran out)
    is only waiting to be taken over: it can be cancelled too."""
    a = tables.alerts
    abandoned = and_(a.c.state == SENDING, a.c.lease_until < utcnow())

    def deliveries(conn: Connection, previous: str) -> None:
        d = tables.alert_deliveries
        conn.execute(update(d).where(d.c.alert_id == alert_id, d.c.state.in_([PENDING, SENDING, FAILED]))
                     .values(state=CANCELLED, lease_until=None))

    return _transition(engine, tables, alert_id, "cancel", CANCELLABLE, {"state": CANCELLED, "lease_until": None}, {
        SENT: "it was already sent (to send it again, resend it)",
        SENDING: "it is being sent right now",
        CANCELLED: "it is already cancelled",
    }, also=abandoned, then=deliveries)


def _transition(engine: Engine, tables: Tables, alert_id: int, action: str, allowed: tuple[str, ...],
                values: dict[str, Any], refusals: dict[str, str], also: ColumnElement[bool] | None = None,
                then: Callable[[Connection, str], None] | None = None) -> Any:
    """One conditional UPDATE of the alert; when it took, ``then`` adjusts its deliveries in the same
    transaction (given the state the alert had)."""
    a = tables.alerts
    condition = a.c.state.in_(allowed) if also is None else or_(a.c.state.in_(allowed), also)
    with engine.begin() as conn:
        before = conn.execute(select(a.c.state).where(a.c.id == alert_id).with_for_update()).scalar()
        changed = conn.execute(update(a).where(a.c.id == alert_id, condition).values(**values)).rowcount
        if changed and then is not None:
            then(conn, before)
        row = conn.execute(select(a).where(a.c.id == alert_id)).first()
    if row is None:
        raise AlertNotFound(alert_id)
    if not changed:
        reason = refusals.get(row.state, f"its state is {row.state}")
        raise InvalidTransition(f"cannot {action} alert {alert_id}: {reason}")
    return row
