"""Email through the SMTP server of the settings (``OTELMON_SMTP_*``): one target is one list of addresses.

Rendering fits every email under the size ceiling (docs/design.md "Email") by dropping, in order, what a
reader misses least; sending keeps a few SMTP connections open while there is work (a handshake, a TLS key
exchange and a login per message would cost more than the message).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

import aiosmtplib
from pydantic import BaseModel, ConfigDict

from otelmon.alerting.notify.base import (
    ACTION_LINKS,
    AlertView,
    Delivered,
    NotifyContext,
    Outcome,
    RetryLater,
    view_links,
)
from otelmon.alerting.notify.wording import issue_line
from otelmon.email.failure_view import LOG_LINES, shortened
from otelmon.email.fit import last_resort, most_rows_that_fit
from otelmon.email.message import OutgoingEmail, build_message, stable_message_id
from otelmon.email.render import format_utc, render_html, render_text
from otelmon.email.smtp import SmtpConnection
from otelmon.text import clip

# A connection is closed after this long without work (servers drop idle clients after minutes).
IDLE_CLOSE_SECONDS = 5.0


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: list[str]


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
    _Detail(40, 20),
    _Detail(15, 20),
    _Detail(5, 20),
    _Detail(0, 20),
    _Detail(0, 5),
    _Detail(0, 5, log_lines=15),
    _Detail(0, 5, cause_chars=200, name_chars=120, log_lines=5),
    _Detail(0, 5, cause_chars=100, head_chars=1000, name_chars=80, log_lines=0),
    _Detail(0, 0, head_chars=300, name_chars=60, log_lines=0),
)
# The email's wording of the links it lists under the trace link (the trace has its own button, the
# dashboard is the summary's); a link without one here shows its channel-neutral label.
_LINK_TEXT = {"console": "Open this failure in OtelMon", "mute": "Mute this failure for 24 h",
              "ack": "Acknowledge until resolved"}
_OWN_PLACE = frozenset({"trace", "failures"})
# Storm summary rows: first as many as fit with messages and names of a readable length, down to this
# many; then shorter ones, down to none.
_SUMMARY_MIN_ROWS = 10
_SUMMARY_TEXT = ((300, 120), (100, 60))


def _trimmed(head: dict[str, Any], stack_lines: int, log_lines: int) -> dict[str, Any]:
    """``head`` showing fewer stack lines (the first) and log lines (the newest)."""
    out = dict(head)
    stack, logged = head.get("stack_lines") or [], head.get("log_lines") or []
    out["stack_lines"] = stack[:stack_lines]
    out["stack_truncated"] = head.get("stack_truncated", False) or len(out["stack_lines"]) < len(stack)
    out["log_lines"] = logged[len(logged) - log_lines:] if log_lines > 0 else []
    out["log_truncated"] = head.get("log_truncated", False) or len(out["log_lines"]) < len(logged)
    return out


class EmailNotifier:
    def __init__(self, config: Config, context: NotifyContext) -> None:
        self.recipients = list(config.to)
        self.context = context
        self.settings = context.settings
        self._pool = _pool_for(context)

    def _headers(self, view: AlertView) -> dict[str, str]:
        return {"X-OtelMon-Alert": str(view.alert_id), "X-OtelMon-Fingerprint": view.fingerprint or view.kind}

    def _message_id(self, view: AlertView) -> str:
        if view.status == "resolved":  # a message of its own, replying to the alert's
            return stable_message_id("recovery", view.alert_id, self.settings.smtp_mail_from,
                                     self.context.installation)
        if view.kind == "test":  # no alert behind it: a new one each time, or mail clients merge the tests
            return stable_message_id("test", uuid.uuid4().hex, self.settings.smtp_mail_from, self.context.installation)
        return stable_message_id("alert", view.alert_id, self.settings.smtp_mail_from, self.context.installation)

    def _message(self, view: AlertView, template: str, context: dict, in_reply_to: str | None) -> OutgoingEmail:
        headers = self._headers(view)
        if in_reply_to:
            headers |= {"In-Reply-To": in_reply_to, "References": in_reply_to}
        return build_message(
            subject=f"[OtelMon] {view.title}", text=render_text(f"{template}.txt.j2", context),
            html=render_html(f"{template}.html.j2", context), mail_from=self.settings.smtp_mail_from,
            recipients=self.recipients, message_id=self._message_id(view), headers=headers,
        )

    def _last_resort(self, view: AlertView, lines: list[str | None], link: str | None, link_text: str,
                     in_reply_to: str | None = None, shortened: bool = True) -> OutgoingEmail:
        headers = self._headers(view)
        if in_reply_to:
            headers |= {"In-Reply-To": in_reply_to, "References": in_reply_to}
        return last_resort(title="OtelMon alert", subject=f"[OtelMon] {view.title}", lines=lines, link=link,
                           link_text=link_text, mail_from=self.settings.smtp_mail_from,
                           recipients=self.recipients, message_id=self._message_id(view), headers=headers,
                           shortened=shortened)

    def render(self, view: AlertView, thread: str | None) -> OutgoingEmail:
        if view.kind == "summary":
            return self._summary(view)
        if view.kind == "test":
            return self._last_resort(view, [view.title, "Alerts of the pipelines routed here arrive like this."],
                                     view.links.get("failures"), "See the failures in Grafana", shortened=False)
        if view.status == "resolved":
            return self._recovered(view, thread)
        return self._failure(view, None)

    def _recovered(self, view: AlertView, in_reply_to: str | None) -> OutgoingEmail:
        """A short reply to the alert: its step works again."""
        head = view.head or {}
        return self._last_resort(view, [
            f"RECOVERED: {head.get('platform')} / {head.get('group')} / {head.get('process')}",
            "A later run of this step succeeded; the failure it was alerted for is resolved.",
            f"Last failed: {format_utc(head.get('end_time'))} ({head.get('error_type') or 'Error'})",
        ], view.links.get("trace"), "The last failure's trace in Grafana", in_reply_to, shortened=False)

    def _failure(self, view: AlertView, in_reply_to: str | None) -> OutgoingEmail:
        full = view.head or {}
        links = [{"key": key, "label": _LINK_TEXT.get(key, label), "url": url, "confirms": key in ACTION_LINKS}
                 for key, label, url in view_links(view) if key not in _OWN_PLACE]
        for detail in _ALERT_DETAIL:
            head = shortened(_trimmed(full, detail.stack_lines, detail.log_lines),
                             message_chars=detail.head_chars, name_chars=detail.name_chars)
            listed = [shortened(c, message_chars=detail.cause_chars, name_chars=detail.name_chars)
                      for c in view.causes[:detail.causes]]
            context = {
                "title": "OtelMon alert", "alert_id": view.alert_id, "head": head, "causes": listed,
                "more_causes": view.more_causes + len(view.causes) - len(listed),
                "suppressed_count": view.suppressed_count, "display_tz": view.display_timezone, "issue": view.issue,
                "issue_line": issue_line(view.issue, view.display_timezone),
                "repeat_interval": view.repeat_interval_seconds, "links": links,
            }
            email = self._message(view, "alert", context, in_reply_to)
            if email.fits:
                return email
        hidden = view.more_causes + len(view.causes)
        return self._last_resort(view, [
            f"FAILED: {full.get('platform')} / {full.get('group')} / {full.get('process')}",
            f"{full.get('error_type') or 'Error'}: {full.get('error_message') or '(no error message)'}",
            f"Ended {format_utc(full.get('end_time'))}",
            f"{hidden} more failing steps in this trace" if hidden else None,
        ], full.get("trace_url"), "Open the trace in Grafana")

    def _summary(self, view: AlertView) -> OutgoingEmail:
        kinds = view.summary_rows
        context = {
            "title": "OtelMon storm summary", "alert_id": view.alert_id, "held_total": view.failure_count,
            "storm_cap": view.storm_cap, "first_time": view.period_start, "last_time": view.period_end,
            "failures_url": view.links.get("failures"),
        }

        def with_rows(message_chars: int, name_chars: int) -> Any:
            def build(count: int) -> OutgoingEmail:
                rows = [{"platform": clip(k["platform"], name_chars), "group": clip(k["group"], name_chars),
                         "process": clip(k["process"], name_chars), "error_type": clip(k["error_type"], name_chars),
                         "error_message": clip(k["error_message"], message_chars), "count": k["count"]}
                        for k in kinds[:count]]
                more = view.more_summary_rows + len(kinds) - len(rows)
                return self._message(view, "storm_summary", {**context, "rows": rows, "more_rows": more}, None)
            return build

        rows = len(kinds)
        for (message_chars, name_chars), least in zip(_SUMMARY_TEXT, (min(rows, _SUMMARY_MIN_ROWS), 0), strict=True):
            email = most_rows_that_fit(with_rows(message_chars, name_chars), rows, least=least)
            if email is not None:
                return email
        return self._last_resort(view, [
            f"{view.failure_count} more failures not emailed one by one: more than {view.storm_cap} alerts a minute.",
            f"{format_utc(view.period_start)} - {format_utc(view.period_end)}",
            f"{len(kinds) + view.more_summary_rows} kinds of failure, in {view.summary_groups} groups.",
        ], view.links.get("failures"), "See every failure in Grafana")

    async def send(self, payload: OutgoingEmail) -> Outcome:
        return await self._pool.send(payload)


class _SmtpPool:
    """At most ``smtp_max_connections`` connections, shared by every email target of one sender."""

    def __init__(self, context: NotifyContext) -> None:
        self.settings = context.settings
        self._slots = asyncio.Semaphore(max(1, context.settings.smtp_max_connections))
        self._idle: list[tuple[SmtpConnection, float]] = []
        # When a connect last failed: sends that were already waiting then fail at once rather than each
        # after its own connect timeout (they are retried with backoff); later sends try again.
        self._connect_failed_at = float("-inf")
        self._reaper: asyncio.TimerHandle | None = None

    async def send(self, message: OutgoingEmail) -> Outcome:
        waiting_since = time.monotonic()
        async with self._slots:
            if self._connect_failed_at > waiting_since:
                return RetryLater(f"SMTP server {self.settings.smtp_host}:{self.settings.smtp_port} unreachable"
                                  " moments ago")
            connection = self._idle.pop()[0] if self._idle else SmtpConnection(self.settings)
            if not connection.is_open:
                try:
                    await connection.open()
                except (aiosmtplib.SMTPException, OSError) as exc:
                    self._connect_failed_at = time.monotonic()
                    await connection.close()
                    return RetryLater(_smtp_reason(exc))
            try:
                error = await connection.send(message)
            except Exception as exc:  # noqa: BLE001 - a connection's failure is this message's retry
                await connection.close()
                error = exc
            except BaseException:  # cancelled mid-send (a timeout): the connection is in an unknown state
                await asyncio.shield(connection.close())
                raise
            self._idle.append((connection, time.monotonic()))
            self._schedule_reap()
        if error is None:
            return Delivered(message.message_id)
        # Every SMTP refusal is retried with backoff, as before channels existed: a 5xx for a recipient is
        # often a mailbox that is full or a relay rule being changed, and the tries are bounded.
        return RetryLater(_smtp_reason(error))

    def _schedule_reap(self) -> None:
        if self._reaper is None:
            self._reaper = asyncio.get_running_loop().call_later(IDLE_CLOSE_SECONDS, self._reap)

    def _reap(self) -> None:
        self._reaper = None
        now = time.monotonic()
        keep = [(c, t) for c, t in self._idle if now - t < IDLE_CLOSE_SECONDS]
        for connection, used in self._idle:
            if now - used >= IDLE_CLOSE_SECONDS:
                asyncio.get_running_loop().create_task(connection.close())
        self._idle = keep
        if keep:
            self._schedule_reap()

    async def aclose(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        idle, self._idle = self._idle, []
        for connection, _ in idle:
            await connection.close()


def _smtp_reason(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"


def _pool_for(context: NotifyContext) -> _SmtpPool:
    # One pool per context (per sender): the connection limit is the server's, not a target's.
    pool = context.shared.get("email")
    if pool is None:
        pool = context.shared["email"] = _SmtpPool(context)
    return pool


async def aclose(context: NotifyContext) -> None:
    pool = context.shared.pop("email", None)
    if pool is not None:
        await pool.aclose()


def build(config: Config, context: NotifyContext, receiver: str) -> EmailNotifier:
    return EmailNotifier(config, context)
