"""What an action link does, and what its confirmation page says beforehand (reading only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from otelmon.actions.tokens import MUTE, MUTE_FOR, ActionRequest
from otelmon.silences import store
from otelmon.silences.model import Silence
from otelmon.storage.tables import Tables

AUTHOR = "alert action link"
COMMENTS = {MUTE: "Muted for 24 h from an alert's link", "ack": "Acknowledged from an alert's link"}
TITLES = {MUTE: "Mute this failure for 24 hours", "ack": "Acknowledge until resolved"}


@dataclass(frozen=True)
class Preview:
    request: ActionRequest
    failure: Any | None  # the head of the fingerprint's latest alert: platform, group_name, process_name, ...
    done: Silence | None  # the silence this very link made, when it was used already
    acknowledged: Silence | None  # for an ack: the acknowledgement in effect, whoever made it


def preview(conn: Connection, tables: Tables, request: ActionRequest, now: datetime) -> Preview:
    """What the confirmation page shows; reads only (a GET must never act)."""
    a, f = tables.alerts, tables.failures
    failure = conn.execute(
        select(f.c.platform, f.c.group_name, f.c.process_name, f.c.error_type, f.c.error_message)
        .join(a, a.c.head_failure_id == f.c.id)
        .where(a.c.fingerprint == request.fingerprint).order_by(a.c.created_at.desc()).limit(1)
    ).first()
    acknowledged = store.active_ack(conn, tables, request.fingerprint, now) if request.action != MUTE else None
    return Preview(request, failure, store.by_action_key(conn, tables, request.key), acknowledged)


def perform(engine: Engine, tables: Tables, request: ActionRequest, now: datetime) -> tuple[Silence, bool]:
    """Do what the link says, once: (the silence, whether this call made it). A second use of the same link
    finds the silence the first made; acknowledging an issue already acknowledged finds that ack."""
    def make(conn: Connection) -> tuple[Silence, bool]:
        if request.action == MUTE:
            return store.create(conn, tables, matchers={"fingerprint": request.fingerprint}, starts_at=now,
                                ends_at=now + MUTE_FOR, comment=COMMENTS[MUTE], created_by=AUTHOR, now=now,
                                action_key=request.key), True
        return store.acknowledge(conn, tables, request.fingerprint, comment=COMMENTS["ack"], created_by=AUTHOR,
                                 now=now, action_key=request.key)

    return store.create_once(engine, tables, request.key, make)
