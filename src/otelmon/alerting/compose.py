"""Alert rows -> the emails a person reads (templates ``alert.*`` and ``storm_summary.*``).

Failures are loaded for a whole batch of alerts at once: two queries, however many alerts. Recipients are
resolved here, at send time, from the current settings; an alert with none raises ``Unroutable``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from otelmon.alerting.routing import Unroutable, recipients_for, recipients_for_many
from otelmon.config import Settings
from otelmon.email.failure_view import LOG_LINES, MESSAGE_CHARS, failure_view, shortened
from otelmon.email.fit import last_resort, most_rows_that_fit
from otelmon.email.message import OutgoingEmail, build_message, stable_message_id
from otelmon.email.render import format_utc, render_html, render_text
from otelmon.failures.causes import step_causes
from otelmon.links import dashboard_url
from otelmon.storage.tables import Tables
from otelmon.text import clip

MAX_CAUSES = 20
MAX_SUMMARY_ROWS = 50
# Names in a subject are clipped so that the "+N more" at its end survives the header's length limit.
SUBJECT_NAME_CHARS = 60


@dataclass(frozen=True)
class _Detail:
    stack_lines: int
    causes: int
    cause_chars: int | None = None
    head_chars: int | None = None
    name_chars: int | None = None
    log_lines: int = LOG_LINES


# Tried in order until the alert fits the size ceiling: first what a reader misses least (the deeper
# stack lines, then some causes, then the older log lines: the stack trace is in Grafana, the log lines
# nowhere else), last the head's own error and the names, shortened with a marker and the link to the
# full trace. Beyond these, ``last_resort``.
_ALERT_DETAIL = (
    _Detail(40, MAX_CAUSES),
    _Detail(15, MAX_CAUSES),
    _Detail(5, MAX_CAUSES),
    _Detail(0, MAX_CAUSES),
    _Detail(0, 5),
    _Detail(0, 5, log_lines=15),
    _Detail(0, 5, cause_chars=200, name_chars=120, log_lines=5),
    _Detail(0, 5, cause_chars=100, head_chars=1000, name_chars=80, log_lines=0),
    _Detail(0, 0, head_chars=300, name_chars=60, log_lines=0),
)
# Storm summary rows: first as many as fit with messages and names of a readable length, down to this
# many; then shorter ones, down to none.
_SUMMARY_MIN_ROWS = 10
_SUMMARY_TEXT = ((300, 120), (100, 60))


def alert_subject(head: dict[str, Any], more: int) -> str:
    names = " / ".join(clip(head[k], SUBJECT_NAME_CHARS) or "" for k in ("platform", "group", "process"))
    return f"[OtelMon] FAILED {names}" + (f" (+{more} more in this trace)" if more else "")


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
    columns = [c for c in f.c if c.name not in ("stacktrace", "attributes", "log_tail")]
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
              "error_type": cause.error_type, "error_message": clip(cause.error_message, MESSAGE_CHARS),
              "end_time": None}
             for cause in step_causes(head_row.attributes)]
    causes = (steps + [failure_view(r, settings, stack_lines=0) for r in others])[:MAX_CAUSES]
    hidden_steps = len(steps) + more_total
    subject = alert_subject(failure_view(head_row, settings, stack_lines=0), more_total)
    for detail in _ALERT_DETAIL:
        head = shortened(failure_view(head_row, settings, stack_lines=detail.stack_lines,
                                      log_lines=detail.log_lines),
                         message_chars=detail.head_chars, name_chars=detail.name_chars)
        listed = [shortened(c, message_chars=detail.cause_chars, name_chars=detail.name_chars)
                  for c in causes[:detail.causes]]
        context = {
            "title": "OtelMon alert",
            "alert_id": alert.id,
            "head": head,
            "causes": listed,
            "more_causes": max(hidden_steps - len(listed), 0),
            "suppressed_count": alert.suppressed_count,
            "display_tz": settings.display_timezone,
            "repeat_interval": settings.alert_repeat_interval_seconds,
        }
        email = _message(settings, alert, subject, "alert", context, recipients, installation)
        if email.fits:
            return email
    head = failure_view(head_row, settings, stack_lines=0)
    return _last_resort(settings, alert, subject, recipients, installation, link=head["trace_url"],
                        link_text="Open the trace in Grafana", lines=[
                            f"FAILED: {head['platform']} / {head['group']} / {head['process']}",
                            f"{head['error_type'] or 'Error'}: {head['error_message'] or '(no error message)'}",
                            f"Ended {format_utc(head['end_time'])}",
                            f"{hidden_steps} more failing steps in this trace" if hidden_steps else None,
                        ])


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
    context = {
        "title": "OtelMon storm summary",
        "alert_id": alert.id,
        "held_total": alert.failure_count,
        "storm_cap": settings.alert_storm_cap_per_minute,
        "first_time": min((k.first for k in kinds), default=None),
        "last_time": max((k.last for k in kinds), default=None),
        "failures_url": dashboard_url(settings, "otelmon-failures"),
    }
    subject = f"[OtelMon] {alert.failure_count} more failures held back (over {context['storm_cap']}/min)"

    def with_rows(message_chars: int, name_chars: int) -> Any:
        def build(count: int) -> OutgoingEmail:
            rows = [{"platform": clip(k.platform, name_chars), "group": clip(k.group_name, name_chars),
                     "process": clip(k.process_name, name_chars), "error_type": clip(k.error_type, name_chars),
                     "error_message": clip(k.error_message, message_chars), "count": k.count}
                    for k in kinds[:count]]
            return _message(settings, alert, subject, "storm_summary",
                            {**context, "rows": rows, "more_rows": len(kinds) - len(rows)}, recipients, installation)
        return build

    rows = min(len(kinds), MAX_SUMMARY_ROWS)
    for (message_chars, name_chars), least in zip(_SUMMARY_TEXT, (min(rows, _SUMMARY_MIN_ROWS), 0), strict=True):
        email = most_rows_that_fit(with_rows(message_chars, name_chars), rows, least=least)
        if email is not None:
            return email
    return _last_resort(settings, alert, subject, recipients, installation, link=context["failures_url"],
                        link_text="See every failure in Grafana", lines=[
                            f"{alert.failure_count} more failures not emailed one by one: more than "
                            f"{context['storm_cap']} alerts a minute.",
                            f"{format_utc(context['first_time'])} - {format_utc(context['last_time'])}",
                            f"{len(kinds)} kinds of failure, in {len(pipelines)} groups.",
                        ])


def _last_resort(settings: Settings, alert: Any, subject: str, recipients: list[str], installation: str, *,
                 lines: list[str | None], link: str | None, link_text: str) -> OutgoingEmail:
    return last_resort(title="OtelMon alert", subject=subject, lines=lines, link=link, link_text=link_text,
                       mail_from=settings.smtp_mail_from, recipients=recipients,
                       message_id=stable_message_id("alert", alert.id, settings.smtp_mail_from, installation),
                       headers=_headers(alert))


def _message(settings: Settings, alert: Any, subject: str, template: str, context: dict, recipients: list[str],
             installation: str) -> OutgoingEmail:
    return build_message(
        subject=subject,
        text=render_text(f"{template}.txt.j2", context),
        html=render_html(f"{template}.html.j2", context),
        mail_from=settings.smtp_mail_from,
        recipients=recipients,
        message_id=stable_message_id("alert", alert.id, settings.smtp_mail_from, installation),
        headers=_headers(alert),
    )


def _headers(alert: Any) -> dict[str, str]:
    return {"X-OtelMon-Alert": str(alert.id), "X-OtelMon-Fingerprint": alert.fingerprint or "summary"}
