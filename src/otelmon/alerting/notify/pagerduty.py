"""PagerDuty Events API v2: trigger with ``dedup_key`` = the fingerprint; resolve on recovery.

The contract (developer.pagerduty.com, "Send an Alert Event"; PagerDuty/api-schema events-v2 OpenAPI): POST a
JSON event to ``/v2/enqueue``; 202 ``{"status": "success", "dedup_key": ...}``; 400 ``{"status": "invalid
event", "message": ..., "errors": [...]}`` is not worth retrying; 429 and 5xx are. ``summary`` is at most 1024
characters, ``dedup_key`` 255, the whole event 512 KB.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, SecretStr

from otelmon.alerting.notify.base import AlertView, Delivered, NotifyContext, Outcome, view_links
from otelmon.alerting.notify.http import MAX_RESPONSE_BYTES, REASON_CHARS, Answer, classify_error, host_of, post
from otelmon.alerting.notify.wording import issue_line
from otelmon.text import clip

SUMMARY_CHARS = 1024
DEDUP_KEY_CHARS = 255
# PagerDuty takes 512 KB; an incident page is read by a person, so custom_details stays far below it.
DETAILS_BYTES = 32 * 1024
CAUSES_LISTED = 10
SUMMARY_ROWS_LISTED = 20


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    routing_key: SecretStr
    url: str = "https://events.pagerduty.com/v2/enqueue"
    severity: Literal["critical", "error", "warning", "info"] = "error"


def build(config: Config, context: NotifyContext, receiver: str) -> PagerDutyNotifier:
    return PagerDutyNotifier(config, context, receiver)


def dumps(event: dict[str, Any]) -> bytes:
    """The exact bytes sent: compact UTF-8, as measured against PagerDuty's size limit."""
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # the database's times are naive UTC
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat()


def _failure_details(row: dict[str, Any], chars: int, lines: int) -> dict[str, Any]:
    """One failing step, every string at most ``chars`` long and every list at most ``lines`` long."""
    def text(value: Any) -> Any:
        return clip(value, chars) if isinstance(value, str) else value
    details = {key: text(row.get(key)) for key in ("platform", "group", "process", "run_id", "try_number",
                                                    "error_type", "error_message", "host", "trace_id", "trace_url",
                                                    "duration_seconds")}
    details["start_time"] = _iso(row.get("start_time"))
    details["end_time"] = _iso(row.get("end_time"))
    details["stack_lines"] = [text(line) for line in (row.get("stack_lines") or [])[:lines]]
    details["log_lines"] = [text(line) for line in (row.get("log_lines") or [])[-lines:] if lines]
    return {key: value for key, value in details.items() if value not in (None, [])}


def custom_details(view: AlertView, chars: int, lines: int) -> dict[str, Any]:
    details: dict[str, Any] = {"kind": view.kind}
    if view.head is not None:
        details.update(_failure_details(view.head, chars, lines))
    for key in ("owner", "tags"):
        if view.labels.get(key):
            details[key] = clip(view.labels[key], chars)
    if view.causes:
        details["causes"] = [_failure_details(cause, chars, lines) for cause in view.causes[:CAUSES_LISTED]]
    more = view.more_causes + max(len(view.causes) - CAUSES_LISTED, 0)
    if more:
        details["more_causes"] = more
    if view.kind == "failure":
        line = issue_line(view.issue, view.display_timezone)
        if line:
            details["issue"] = clip(line, chars)
        details["failure_count"] = view.failure_count
        details["suppressed_since_last_alert"] = view.suppressed_count
    if view.summary_rows:
        details["held_back"] = [{key: clip(value, chars) if isinstance(value, str) else value
                                 for key, value in row.items()} for row in view.summary_rows[:SUMMARY_ROWS_LISTED]]
        details["more_rows"] = view.more_summary_rows + max(len(view.summary_rows) - SUMMARY_ROWS_LISTED, 0)
        details["failure_count"] = view.failure_count
        details["storm_cap_per_minute"] = view.storm_cap
    return details


def bounded_details(view: AlertView, budget: int = DETAILS_BYTES) -> dict[str, Any]:
    """``custom_details`` within ``budget`` bytes: strings and lists are shortened until it fits."""
    chars, lines = 4096, 40
    while True:
        details = custom_details(view, chars, lines)
        if len(dumps(details)) <= budget or chars <= 16:
            return details
        chars, lines = chars // 2, max(lines // 2, 1)


class PagerDutyNotifier:
    def __init__(self, config: Config, context: NotifyContext, receiver: str) -> None:
        self.config = config
        self.context = context
        self.receiver = receiver

    def dedup_key(self, view: AlertView) -> str:
        if view.kind == "failure" and view.fingerprint:
            key = view.fingerprint
        elif view.kind == "test":
            key = f"otelmon-test-{self.receiver}"
        else:
            key = f"otelmon-{view.kind}-{view.alert_id}"
        return key[:DEDUP_KEY_CHARS]

    def render(self, view: AlertView, thread: str | None) -> dict[str, Any]:
        """The event without its routing key: a payload may be stored or shown, the key is a secret that
        ``send`` adds."""
        dedup_key = thread or self.dedup_key(view)
        if view.status == "resolved":
            return {"event_action": "resolve", "dedup_key": dedup_key}
        head = view.head or {}
        links = [{"href": href, "text": text} for _, text, href in view_links(view)]
        payload = {
            "summary": clip(" ".join(view.title.split()), SUMMARY_CHARS) or view.kind,
            "source": clip(head.get("host") or view.labels.get("platform") or "otelmon", SUMMARY_CHARS),
            "severity": "info" if view.kind == "test" else self.config.severity,
            "timestamp": _iso(head.get("end_time") or view.created_at),
            "component": clip(view.labels.get("process") or head.get("process"), SUMMARY_CHARS),
            "group": clip(view.labels.get("group") or head.get("group"), SUMMARY_CHARS),
            "class": clip(view.labels.get("error_type") or head.get("error_type") or view.kind, SUMMARY_CHARS),
            "custom_details": bounded_details(view),
        }
        return {
            "event_action": "trigger",
            "dedup_key": dedup_key,
            "payload": {key: value for key, value in payload.items() if value is not None},
            "links": links,
            "client": "OtelMon",
            "client_url": view.links.get("failures") or self.context.settings.grafana_url,
        }

    async def send(self, payload: dict[str, Any]) -> Outcome:
        key = self.config.routing_key.get_secret_value()
        body = dumps({"routing_key": key, **payload})
        where = host_of(self.config.url)
        answer = await post(self.context.http, self.config.url, content=body,
                            headers={"Content-Type": "application/json"})
        if not isinstance(answer, Answer):
            return answer
        said = answer.json()
        # Should an answer ever echo the routing key, the stored reason must not.
        detail = (_error_text(said) if isinstance(said, dict) else None) or answer.text(MAX_RESPONSE_BYTES)
        outcome = classify_error(answer, where, clip(detail.replace(key, "***") if key else detail, REASON_CHARS))
        if outcome is None:
            reference = said.get("dedup_key") if isinstance(said, dict) else None
            return Delivered(reference=reference if isinstance(reference, str) else payload["dedup_key"])
        return outcome


def _error_text(said: dict[str, Any]) -> str | None:
    """PagerDuty's own words: ``message`` and each of ``errors``."""
    errors = said.get("errors")
    listed = "; ".join(str(error) for error in errors) if isinstance(errors, list) else ""
    text = ": ".join(part for part in (str(said.get("message") or ""), listed) if part)
    return " ".join(text.split()) or None

