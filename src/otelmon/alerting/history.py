"""What ``GET /api/v1/alerts`` shows: a page of alerts, newest first, and the counts of alerts and outbox
rows by state, all read from one snapshot."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from otelmon.storage.database import read_snapshot
from otelmon.storage.tables import Tables


@dataclass(frozen=True)
class AlertHistory:
    rows: list[Any]  # up to limit + 1 alerts: one more than asked tells that an older page exists
    deliveries: dict[int, list[Any]]  # by alert id: one row per target (receiver, integration, target)
    alerts_by_state: dict[str, int]
    outbox_by_state: dict[str, int]
    # by failure id: the head failure of each alert (platform, group_name, process_name, error_type), what an
    # alert not yet rendered (no subject) is about
    heads: dict[int, Any] = field(default_factory=dict)


def read_history(engine: Engine, tables: Tables, state: str | None, limit: int, before_id: int | None) -> AlertHistory:
    a, ob, d, f = tables.alerts, tables.alert_outbox, tables.alert_deliveries, tables.failures
    query = select(a).order_by(a.c.id.desc()).limit(limit + 1)
    if state:
        query = query.where(a.c.state == state)
    if before_id:
        query = query.where(a.c.id < before_id)
    # One snapshot: a dispatch commits "outbox row alerted" and "alert pending" together, and a reader
    # that saw one without the other would report an alert as settled before its email was sent.
    with read_snapshot(engine) as conn:
        outbox = dict(conn.execute(select(ob.c.state, func.count()).group_by(ob.c.state)).all())
        by_state = alerts_by_state(conn, tables)
        rows = list(conn.execute(query))
        deliveries: dict[int, list[Any]] = {r.id: [] for r in rows}
        if rows:
            for row in conn.execute(select(d).where(d.c.alert_id.in_(list(deliveries))).order_by(d.c.id)):
                deliveries[row.alert_id].append(row)
        head_ids = sorted({r.head_failure_id for r in rows if r.head_failure_id is not None})
        heads = {row.id: row for row in conn.execute(
            select(f.c.id, f.c.platform, f.c.group_name, f.c.process_name, f.c.error_type)
            .where(f.c.id.in_(head_ids)))} if head_ids else {}
    return AlertHistory(rows, deliveries, by_state, outbox, heads)


def alerts_by_state(conn: Connection, tables: Tables) -> dict[str, int]:
    """Alerts per state, only the states some alert is in."""
    a = tables.alerts
    return dict(conn.execute(select(a.c.state, func.count()).group_by(a.c.state)).all())
