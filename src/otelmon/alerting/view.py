"""Alert rows -> channel-neutral ``AlertView``s (and what their routes match on), for a whole batch at once.

Failures are loaded for a batch of alerts in two queries however many alerts there are. The head keeps
its whole stack trace and log tail (up to the email's own limits): each notifier shortens for its channel.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, func, select

from otelmon.actions.links import action_links
from otelmon.alerting.notify.base import AlertView
from otelmon.alerting.routing import Labels
from otelmon.clock import utcnow
from otelmon.config import Settings
from otelmon.email.failure_view import MESSAGE_CHARS, failure_view
from otelmon.failures.causes import step_causes
from otelmon.issues.storage import issues_by_fingerprint
from otelmon.links import console_failure_url, dashboard_url
from otelmon.storage.tables import Tables
from otelmon.text import clip

MAX_CAUSES = 20
MAX_SUMMARY_ROWS = 50
# Names in a title are clipped so that the "+N more" at its end survives a subject's length limit.
TITLE_NAME_CHARS = 60
HEAD_STACK_LINES = 40


@dataclass(frozen=True)
class Built:
    view: AlertView
    labels: list[Labels]  # a failure alert: its head's; a summary: one per kind of failure it names


def failure_title(head: dict[str, Any], more: int, tries: int | None = None, verb: str = "FAILED") -> str:
    names = " / ".join(clip(head[k], TITLE_NAME_CHARS) or "" for k in ("platform", "group", "process"))
    return (f"{verb} {names}" + (f" after {tries} tries" if tries else "")
            + (f" (+{more} more in this trace)" if more else ""))


def build_views(conn: Connection, tables: Tables, settings: Settings, alerts: Sequence[Any],
                secret: bytes | None = None) -> dict[int, Built | Exception]:
    """``secret`` (the installation's key) signs each failure alert's action links: mute for 24 h, acknowledge
    until resolved; without it, the alerts carry none."""
    out: dict[int, Built | Exception] = {}
    failure_alerts = [a for a in alerts if a.kind in ("failure", "recovery")]
    heads, members = _load_failures(conn, tables, failure_alerts)
    tries = _load_earlier_tries(conn, tables, list(heads.values()))
    issues = issues_by_fingerprint(conn, tables, [a.fingerprint for a in failure_alerts if a.fingerprint])
    for alert in alerts:
        try:
            if alert.kind == "summary":
                out[alert.id] = _summary(conn, tables, settings, alert)
            elif alert.kind == "recovery" and alert.head_failure_id not in heads:
                # Its failure is gone (retention): the issue still names the step.
                out[alert.id] = _recovery_of_issue(settings, alert, issues[alert.fingerprint])
            else:
                out[alert.id] = _failure(settings, alert, heads[alert.head_failure_id], members.get(alert.id, []),
                                         secret, tries, issues.get(alert.fingerprint))
        except Exception as exc:  # noqa: BLE001 - one bad alert must not stop the others
            out[alert.id] = exc
    return out


def _load_failures(conn: Connection, tables: Tables, alerts: Sequence[Any]) -> tuple[dict, dict]:
    if not alerts:
        return {}, {}
    f, ob = tables.failures, tables.alert_outbox
    heads = {r.id: r for r in conn.execute(select(f).where(f.c.id.in_({a.head_failure_id for a in alerts})))}
    # Inner causes are listed without their stack traces: leave the large columns out of the query.
    columns = [c for c in f.c if c.name not in ("stacktrace", "attributes", "log_tail")]
    members: dict[int, list[Any]] = defaultdict(list)
    rows = conn.execute(
        select(ob.c.alert_id, *columns).join(ob, ob.c.failure_id == f.c.id)
        .where(ob.c.alert_id.in_([a.id for a in alerts])).order_by(f.c.start_time, f.c.id)
    )
    for row in rows:
        members[row.alert_id].append(row)
    return heads, members


def _failure(settings: Settings, alert: Any, head_row: Any, member_rows: list[Any], secret: bytes | None,
             tries: dict[int, list[Any]], issue: Any | None = None) -> Built:
    others = [r for r in member_rows if r.id != alert.head_failure_id]
    # The steps the head's own exception passed through are not failures of their own (ingest keeps no
    # row for them); they travel in its attributes and lead the causes.
    steps = [{"group": head_row.group_name, "process": f"{head_row.process_name} › {cause.step}",
              "platform": head_row.platform, "error_type": cause.error_type,
              "error_message": clip(cause.error_message, MESSAGE_CHARS), "end_time": None,
              "stack_lines": [], "log_lines": [], "trace_url": None}
             for cause in step_causes(head_row.attributes)]
    causes = (steps + [failure_view(r, settings, stack_lines=0, log_lines=0) for r in others])[:MAX_CAUSES]
    head = failure_view(head_row, settings, stack_lines=HEAD_STACK_LINES)
    labels = Labels.of_failure(head_row)
    links = {"trace": head["trace_url"], "failures": dashboard_url(settings, "otelmon-failures")}
    if alert.kind == "recovery":
        return Built(_recovery(settings, alert, head, labels, links), [labels])
    links["console"] = console_failure_url(settings, head_row.id)
    earlier = _earlier_tries(head_row, member_rows, settings, tries)
    causes = (earlier + causes)[:MAX_CAUSES]
    if secret is not None and alert.fingerprint:
        links |= action_links(settings, secret, alert.fingerprint)
    shown_issue = _issue(issue)
    regressed = shown_issue is not None and shown_issue["state"] == "regressed"
    view = AlertView(
        alert_id=alert.id, kind="failure", issue=shown_issue,
        title=failure_title(head, alert.failure_count - 1, head_row.try_number if earlier else None,
                            verb="REGRESSED" if regressed else "FAILED"),
        fingerprint=alert.fingerprint, head=head, causes=causes,
        more_causes=max(len(steps) + len(earlier) + alert.failure_count - 1 - len(causes), 0),
        failure_count=alert.failure_count, suppressed_count=alert.suppressed_count,
        labels=_label_map(labels, head.get("error_type")),
        links={k: v for k, v in links.items() if v},
        created_at=alert.created_at, repeat_interval_seconds=settings.alert_repeat_interval_seconds,
        display_timezone=settings.display_timezone,
    )
    return Built(view, [labels])


def _issue(row: Any | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"state": row.state, "failing_since": row.failing_since, "first_seen": row.first_seen,
            "consecutive_failed_runs": row.consecutive_failed_runs, "occurrences": row.occurrences}


def _load_earlier_tries(conn: Connection, tables: Tables, heads: list[Any]) -> dict[int, list[Any]]:
    """For each head that is a later try of its run, the failures of that run's earlier tries (of the same
    step): the alert of a last try names them ("failed after 3 tries")."""
    f = tables.failures
    later = [h for h in heads if h.run_id and (h.try_number or 0) > 1]
    out: dict[int, list[Any]] = {}
    if not later:
        return out
    columns = [c for c in f.c if c.name not in ("stacktrace", "attributes", "log_tail")]
    rows = conn.execute(select(*columns).where(f.c.run_id.in_({h.run_id for h in later}))
                        .order_by(f.c.try_number, f.c.id)).all()
    for head in later:
        out[head.id] = [r for r in rows if (r.platform, r.group_name, r.process_name, r.run_id)
                        == (head.platform, head.group_name, head.process_name, head.run_id)
                        and r.try_number is not None and r.try_number < head.try_number]
    return out


def _earlier_tries(head_row: Any, member_rows: list[Any], settings: Settings,
                   tries: dict[int, list[Any]]) -> list[dict[str, Any]]:
    listed = {r.id for r in member_rows}
    out = []
    for row in tries.get(head_row.id, []):
        if row.id in listed:
            continue
        view = failure_view(row, settings, stack_lines=0, log_lines=0)
        view["process"] = f"{row.process_name} (try {row.try_number})"
        out.append(view)
    return out


def _recovery(settings: Settings, alert: Any, head: dict[str, Any], labels: Labels,
              links: dict[str, str | None]) -> AlertView:
    """What a recovery notice says: the step that failed (its last failure) works again."""
    return AlertView(
        alert_id=alert.id, kind="failure", status="resolved", title=failure_title(head, 0, verb="RECOVERED"),
        fingerprint=alert.fingerprint, head=head, failure_count=alert.failure_count,
        labels=_label_map(labels, head.get("error_type")), links={k: v for k, v in links.items() if v},
        created_at=alert.created_at, display_timezone=settings.display_timezone,
    )


def _recovery_of_issue(settings: Settings, alert: Any, issue: Any) -> Built:
    head = {"platform": issue.platform, "group": issue.group_name, "process": issue.process_name,
            "error_type": issue.error_type, "end_time": issue.last_seen, "trace_url": None}
    labels = Labels(issue.platform, issue.group_name, issue.process_name)
    links = {"failures": dashboard_url(settings, "otelmon-failures")}
    return Built(_recovery(settings, alert, head, labels, links), [labels])


def _summary(conn: Connection, tables: Tables, settings: Settings, alert: Any) -> Built:
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
    rows = [{"platform": k.platform, "group": k.group_name, "process": k.process_name, "error_type": k.error_type,
             "error_message": clip(k.error_message, MESSAGE_CHARS), "count": k.count}
            for k in kinds[:MAX_SUMMARY_ROWS]]
    cap = settings.alert_storm_cap_per_minute
    view = AlertView(
        alert_id=alert.id, kind="summary", title=f"{alert.failure_count} more failures held back (over {cap}/min)",
        failure_count=alert.failure_count, summary_rows=rows, more_summary_rows=len(kinds) - len(rows),
        storm_cap=cap, summary_groups=len({(k.platform, k.group_name) for k in kinds}),
        period_start=min((k.first for k in kinds), default=None), period_end=max((k.last for k in kinds), default=None),
        links={"failures": dashboard_url(settings, "otelmon-failures")}, created_at=alert.created_at,
        display_timezone=settings.display_timezone,
    )
    labels = list({(k.platform, k.group_name, k.process_name): Labels(k.platform, k.group_name, k.process_name)
                   for k in kinds}.values())
    return Built(view, labels)


def _label_map(labels: Labels, error_type: str | None) -> dict[str, str]:
    out = {"platform": labels.platform, "group": labels.group, "process": labels.process or "",
           "error_type": error_type or "", "owner": labels.owner or "", "tags": ",".join(labels.tags)}
    return {k: v for k, v in out.items() if v}


def test_message_view(receiver: str, settings: Settings) -> AlertView:
    """What ``otelmon notify test`` sends: says which receiver it came through, names no failure."""
    return AlertView(alert_id=0, kind="test", title=f"OtelMon test message for receiver {receiver}",
                     created_at=utcnow(), links={"failures": dashboard_url(settings, "otelmon-failures")},
                     labels={"receiver": receiver}, display_timezone=settings.display_timezone)
