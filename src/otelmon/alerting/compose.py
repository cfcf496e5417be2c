"""Alert rows -> the emails a person reads (templates ``alert.*`` and ``storm_summary.*``).

Failures are loaded for a whole batch of alerts at once: two queries, however many alerts. Recipients are
resolved here, at send time, from the current settings; an alert with none raises ``Unroutable``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, select

from otelmon.alerting.routing import Unroutable, recipients_for, recipients_for_many
from otelmon.config import Settings
from otelmon.email.failure_view import failure_view
from otelmon.email.message import MAX_EMAIL_BYTES, OutgoingEmail, build_message, stable_message_id
from otelmon.email.render import render_html, render_text
from otelmon.failures.causes import step_causes
from otelmon.links import dashboard_url
from otelmon.storage.tables import Tables

MAX_CAUSES = 20
MAX_SUMMARY_ROWS = 50
# Tried in order until the message fits the size ceiling: fewer stack lines, then none.
_STACK_BUDGETS = (40, 15, 0)


def alert_subject(head: dict[str, Any], more: int) -> str:
    subject = f"[OtelMon] FAILED {head['platform']} / {head['group']} / {head['process']}"
    return subject + (f" (+{more} more in this trace)" if more else "")


def compose_batch(
    conn: Connection, tables: Tables, settings: Settings, alerts: Sequence[Any], installation: str
) -> dict[int, OutgoingEmail | Exception]:
    out: dict[int, OutgoingEmail | Exception] = {}
    failure_alerts = [a for a in alerts if a.kind == "failure"]
    heads, members = _load_failures(conn, tables, failure_alerts)
    for alert in alerts:
        try:
            if alert.kind == "summary":
                out[alert.id] = _compose_summary(conn, tables, settings, alert, installation)
            else:
                out[alert.id] = _compose_failure(settings, alert, heads[alert.head_failure_id],
                                                 members.get(alert.id, []), installation)
        except Exception as exc:  # noqa: BLE001 - one bad alert must not stop the others
            out[alert.id] = exc
    return out


def _load_failures(conn: Connection, tables: Tables, alerts: Sequence[Any]) -> tuple[dict, dict]:
    if not alerts:
        return {}, {}
    f, ob = tables.failures, tables.alert_outbox
    heads = {r.id: r for r in conn.execute(select(f).where(f.c.id.in_({a.head_failure_id for a in alerts})))}
    # Inner causes are listed without their stack traces: leave that column out of the query.
    columns = [c for c in f.c if c.name not in ("stacktrace", "attributes")]
    members: dict[int, list[Any]] = defaultdict(list)
    rows = conn.execute(
        select(ob.c.alert_id, *columns).join(ob, ob.c.failure_id == f.c.id)
        .where(ob.c.alert_id.in_([a.id for a in alerts])).order_by(f.c.start_time, f.c.id)
    )
    for row in rows:
        members[row.alert_id].append(row)
    return heads, members


def _compose_failure(settings: Settings, alert: Any, head_row: Any, member_rows: list[Any],
                     installation: str) -> OutgoingEmail:
    recipients = recipients_for(settings, head_row.platform, head_row.group_name)
    if not recipients:
        raise Unroutable([(head_row.platform, head_row.group_name)])
    others = [r for r in member_rows if r.id != alert.head_failure_id]
    more_total = alert.failure_count - 1
    # The steps the head's own exception passed through are not failures of their own (ingest keeps no
    # row for them); they travel in its attributes and lead the causes.
    steps = [{"group": head_row.group_name, "process": f"{head_row.process_name} › {cause.step}",
              "error_type": cause.error_type, "error_message": cause.error_message, "end_time": None}
             for cause in step_causes(head_row.attributes)]
    causes = (steps + [failure_view(r, settings, stack_lines=0) for r in others])[:MAX_CAUSES]
    for stack_lines in _STACK_BUDGETS:
        head = failure_view(head_row, settings, stack_lines=stack_lines)
        context = {
            "title": "OtelMon alert",
            "alert_id": alert.id,
            "head": head,
            "causes": causes,
            "more_causes": max(len(steps) + more_total - len(causes), 0),
            "suppressed_count": alert.suppressed_count,
            "display_tz": settings.display_timezone,
            "repeat_interval": settings.alert_repeat_interval_seconds,
        }
        email = _message(settings, alert, alert_subject(head, more_total), "alert", context, recipients,
                         installation)
        if email.size <= MAX_EMAIL_BYTES:
            return email
        causes = causes[:5]
    return email


def _compose_summary(conn: Connection, tables: Tables, settings: Settings, alert: Any,
                     installation: str) -> OutgoingEmail:
    ob, f = tables.alert_outbox, tables.failures
    kinds = conn.execute(
        select(f.c.platform, f.c.group_name, f.c.process_name, f.c.error_type,
               func.min(f.c.error_message).label("error_message"), func.count().label("count"),
               func.min(f.c.end_time).label("first"), func.max(f.c.end_time).label("last"))
        .join(ob, ob.c.failure_id == f.c.id)
        .where(ob.c.alert_id == alert.id)
        .group_by(f.c.platform, f.c.group_name, f.c.process_name, f.c.error_type)
        .order_by(func.count().desc())
    ).all()
    pipelines = {(k.platform, k.group_name) for k in kinds}
    recipients = recipients_for_many(settings, pipelines)
    if not recipients:
        raise Unroutable(pipelines)
    rows = [{"platform": k.platform, "group": k.group_name, "process": k.process_name, "error_type": k.error_type,
             "error_message": (k.error_message or "")[:300], "count": k.count} for k in kinds[:MAX_SUMMARY_ROWS]]
    context = {
        "title": "OtelMon storm summary",
        "alert_id": alert.id,
        "held_total": alert.failure_count,
        "storm_cap": settings.alert_storm_cap_per_minute,
        "rows": rows,
        "more_rows": max(len(kinds) - len(rows), 0),
        "first_time": min((k.first for k in kinds), default=None),
        "last_time": max((k.last for k in kinds), default=None),
        "failures_url": dashboard_url(settings, "otelmon-failures"),
    }
    subject = f"[OtelMon] {alert.failure_count} more failures held back (over {context['storm_cap']}/min)"
    return _message(settings, alert, subject, "storm_summary", context, recipients, installation)


def _message(settings: Settings, alert: Any, subject: str, template: str, context: dict, recipients: list[str],
             installation: str) -> OutgoingEmail:
    return build_message(
        subject=subject,
        text=render_text(f"{template}.txt.j2", context),
        html=render_html(f"{template}.html.j2", context),
        mail_from=settings.smtp_mail_from,
        recipients=recipients,
        message_id=stable_message_id("alert", alert.id, settings.smtp_mail_from, installation),
        headers={"X-OtelMon-Alert": str(alert.id), "X-OtelMon-Fingerprint": alert.fingerprint or "summary"},
    )
