"""What a person does to one alert (``otelmon alerts``, ``POST /api/v1/alerts/{id}/...``): resend or cancel.

Each is one conditional UPDATE, so it races safely with the sender: an alert being sent right now is
neither cancelled under it nor queued twice.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Engine, and_, or_, select, update

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
    """Back to pending, tries counted from zero, due now; sent with the same Message-ID. Returns the row."""
    values = {"state": PENDING, "attempts": 0, "next_attempt_at": utcnow(), "lease_until": None,
              "last_error": None}
    return _transition(engine, tables, alert_id, "resend", RESENDABLE, values, {
        PENDING: "it is already waiting to be sent",
        SENDING: "it is being sent right now",
    })


def cancel(engine: Engine, tables: Tables, alert_id: int) -> Any:
    """Never sent (unless resent). Returns the row. An alert whose sender died mid-send (its lease ran out)
    is only waiting to be taken over: it can be cancelled too."""
    a = tables.alerts
    abandoned = and_(a.c.state == SENDING, a.c.lease_until < utcnow())
    return _transition(engine, tables, alert_id, "cancel", CANCELLABLE, {"state": CANCELLED, "lease_until": None}, {
        SENT: "it was already sent (to send it again, resend it)",
        SENDING: "it is being sent right now",
        CANCELLED: "it is already cancelled",
    }, also=abandoned)


def _transition(engine: Engine, tables: Tables, alert_id: int, action: str, allowed: tuple[str, ...],
                values: dict[str, Any], refusals: dict[str, str], also: ColumnElement[bool] | None = None) -> Any:
    a = tables.alerts
    condition = a.c.state.in_(allowed) if also is None else or_(a.c.state.in_(allowed), also)
    with engine.begin() as conn:
        changed = conn.execute(update(a).where(a.c.id == alert_id, condition).values(**values)).rowcount
        row = conn.execute(select(a).where(a.c.id == alert_id)).first()
    if row is None:
        raise AlertNotFound(alert_id)
    if not changed:
        reason = refusals.get(row.state, f"its state is {row.state}")
        raise InvalidTransition(f"cannot {action} alert {alert_id}: {reason}")
    return row
