"""Microsoft Teams: a Workflows (Power Automate) webhook that posts an Adaptive Card.

The workflow template "Send webhook alerts to a channel" (trigger "When a Teams webhook request is
received") takes ``{"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
"contentUrl": null, "content": <AdaptiveCard>}]}`` and answers 202 Accepted; the old Office 365 connectors
(MessageCard) are retired. A posted message may be about 28 KB in all, so the card is rendered again with
shorter excerpts until its JSON fits ``MAX_BYTES``.

User-supplied text is escaped for the Markdown subset a TextBlock interprets (CommonMark backslash escapes),
so ``*star*``, ``[link](…)``, list markers and ``{{DATE(…)}}`` functions show literally.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

from otelmon.alerting.notify.base import AlertView, Delivered, NotifyContext, Outcome, view_links
from otelmon.alerting.notify.http import Answer, classify_error, host_of, post
from otelmon.alerting.notify.wording import issue_line
from otelmon.email.render import format_duration, format_local, format_utc
from otelmon.text import clip


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhook_url: SecretStr

    @field_validator("webhook_url")
    @classmethod
    def _not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("webhook_url is empty (an unset ${VAR}?)")
        return value


CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
# 1.4 renders in every Teams client (desktop, web, mobile); nothing newer is used.
CARD_VERSION = "1.4"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
# Teams refuses a message over about 28 KB ("Request Entity Too Large"), measured on what it renders, which
# is more than our JSON; 24,000 bytes of JSON leave that margin.
MAX_BYTES = 24_000
# Excerpt lengths at full scale; each retry to fit halves them.
NAME_CHARS = 200
MESSAGE_CHARS = 1500
LOG_LINES = 5
LOG_LINE_CHARS = 300
CAUSES = 5
CAUSE_CHARS = 200
SUMMARY_ROWS = 10
SUMMARY_MESSAGE_CHARS = 120

HINTS = {
    401: "the URL's signature is wrong or was regenerated: copy the workflow's URL again",
    403: "the workflow's owner may no longer post to this channel",
    404: "the workflow was deleted or its URL is wrong",
    413: "the card is too large for Teams",
}

# Characters the TextBlock Markdown subset (and CommonMark renderers) may interpret anywhere in a line...
_INLINE = re.compile(r"([\\`*_{}\[\]()<>#~!|&])")
# ...and list markers, which only count at the start of a line.
_LIST_MARKER = re.compile(r"^(\s*)([-+](?=\s|$)|\d+(?=[.)](?:\s|$)))", re.MULTILINE)


def escape(text: Any) -> str:
    """``text`` as a TextBlock shows it literally."""
    escaped = _INLINE.sub(r"\\\1", str(text))
    return _LIST_MARKER.sub(lambda m: m.group(1) + ("\\" + m.group(2) if m.group(2) in "-+" else m.group(2) + "\\"),
                            escaped)


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _excerpt(value: Any, chars: int) -> str:
    if value is None or value == "":
        return "–"
    return escape(clip(str(value), max(chars, 8)))


class _Scale:
    """Excerpt lengths at one scale (1 = full); ``chars(n)`` is ``n`` scaled."""

    def __init__(self, factor: float) -> None:
        self.factor = factor

    def chars(self, n: int) -> int:
        return max(int(n * self.factor), 8)


def _facts(view: AlertView, head: dict[str, Any], scale: _Scale) -> dict[str, Any]:
    names = scale.chars(NAME_CHARS)
    run = clip(str(head.get("run_id") or "–"), names)
    if head.get("try_number") is not None:
        run = f"{run} (try {head['try_number']})"
    facts = [("Platform", head.get("platform")), ("Group", head.get("group")), ("Process", head.get("process")),
             ("Error type", head.get("error_type")), ("Run", run), ("Started", format_utc(head.get("start_time"))),
             ("Duration", format_duration(head.get("duration_seconds"))), ("Host", head.get("host"))]
    if view.labels.get("owner"):
        facts.append(("Owner", view.labels["owner"]))
    return {"type": "FactSet", "facts": [{"title": title, "value": _excerpt(value, names)} for title, value in facts]}


def _failure_body(view: AlertView, scale: _Scale) -> list[dict[str, Any]]:
    head = view.head or {}
    resolved = view.status == "resolved"
    body = [_facts(view, head, scale),
            _text("Last error" if resolved else "Error", weight="Bolder"),
            _text(_excerpt(head.get("error_message"), scale.chars(MESSAGE_CHARS)), fontType="Monospace",
                  spacing="Small")]
    logs = (head.get("log_lines") or [])[-LOG_LINES:]
    if logs and not resolved:
        body.append(_text(f"Last {len(logs)} log lines", weight="Bolder"))
        body += [_text(_excerpt(line, scale.chars(LOG_LINE_CHARS)), fontType="Monospace", size="Small",
                       spacing="None") for line in logs]
    if view.causes and not resolved:
        body.append(_text("Also failing in this trace", weight="Bolder"))
        for cause in view.causes[:CAUSES]:
            body.append(_text(f"**{_excerpt(cause.get('process'), scale.chars(NAME_CHARS))}** · "
                              f"{_excerpt(cause.get('error_type'), scale.chars(NAME_CHARS))}: "
                              f"{_excerpt(cause.get('error_message'), scale.chars(CAUSE_CHARS))}", spacing="Small"))
        more = len(view.causes) - CAUSES + view.more_causes
        if more > 0:
            body.append(_text(f"…and {more} more failing steps", isSubtle=True, spacing="Small"))
    notes = [f"{view.failure_count} failing step{'s' if view.failure_count != 1 else ''} in this alert"]
    if view.suppressed_count:
        notes.append(f"{view.suppressed_count} repeats not alerted since the previous alert")
    if resolved:
        notes = ["No new failure of this kind since the last alert"]
    body.append(_text(" · ".join(notes), isSubtle=True, size="Small"))
    return body


def _summary_body(view: AlertView, scale: _Scale) -> list[dict[str, Any]]:
    cap = f" (over {view.storm_cap} alerts a minute)" if view.storm_cap else ""
    body = [_text(f"**{view.failure_count} failures held back{cap}.** Most frequent:")]
    for row in view.summary_rows[:SUMMARY_ROWS]:
        where = " / ".join(str(row.get(key) or "–") for key in ("platform", "group", "process"))
        body.append(_text(f"**{_excerpt(where, scale.chars(NAME_CHARS))}** ×{int(row.get('count') or 0)}: "
                          f"{_excerpt(row.get('error_type'), scale.chars(NAME_CHARS))} "
                          f"{_excerpt(row.get('error_message'), scale.chars(SUMMARY_MESSAGE_CHARS))}",
                          spacing="Small"))
    more = len(view.summary_rows) - SUMMARY_ROWS + view.more_summary_rows
    if more > 0:
        body.append(_text(f"…and {more} more", isSubtle=True, spacing="Small"))
    return body


def _when(view: AlertView) -> str:
    local = format_local(view.created_at, view.display_timezone)
    return format_utc(view.created_at) + (f" ({local})" if local else "")


STYLES = {"failure": "attention", "summary": "warning", "test": "accent"}


def _card(view: AlertView, scale: _Scale) -> dict[str, Any]:
    resolved = view.status == "resolved"
    title = {"type": "Container", "style": "good" if resolved else STYLES.get(view.kind, "emphasis"), "bleed": True,
             "items": [_text(_excerpt(view.title, scale.chars(NAME_CHARS * 2)), size="Large", weight="Bolder"),
                       _text(_when(view), isSubtle=True, spacing="None")]}
    line = issue_line(view.issue, view.display_timezone)
    if line:
        title["items"].append(_text(escape(line), spacing="Small"))
    if view.kind == "summary":
        body = _summary_body(view, scale)
    elif view.kind == "test":
        body = [_text("If you can read this, OtelMon's alerts for this receiver reach this channel.")]
    else:
        body = _failure_body(view, scale)
    actions = [{"type": "Action.OpenUrl", "title": label, "url": url} for _, label, url in view_links(view)]
    card: dict[str, Any] = {"$schema": CARD_SCHEMA, "type": "AdaptiveCard", "version": CARD_VERSION,
                            "fallbackText": _excerpt(view.title, scale.chars(NAME_CHARS * 2)),
                            "body": [title, *body]}
    if actions:
        card["actions"] = actions
    return card


def envelope(card: dict[str, Any]) -> dict[str, Any]:
    """The body the Workflows trigger takes: a message with the card as its one attachment."""
    return {"type": "message",
            "attachments": [{"contentType": CARD_CONTENT_TYPE, "contentUrl": None, "content": card}]}


def encoded(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def render_message(view: AlertView, max_bytes: int = MAX_BYTES) -> dict[str, Any]:
    """The Workflows body for ``view``, its JSON at most ``max_bytes``: excerpts halve until it fits (at the
    smallest scale every excerpt is 8 characters: a few kilobytes whatever the view)."""
    factor = 1.0
    payload = envelope(_card(view, _Scale(factor)))
    while len(encoded(payload)) > max_bytes and factor > 0.01:
        factor /= 2
        payload = envelope(_card(view, _Scale(factor)))
    return payload


def _detail(answer: Answer, secrets: list[str]) -> str:
    """The workflow's error code (``{"error": {"code": ...}}``) or its text; no part of the URL."""
    data = answer.json()
    if isinstance(data, dict) and isinstance(data.get("error"), dict) and data["error"].get("code"):
        said = str(data["error"]["code"])[:100]
    else:
        said = answer.text(100)
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        said = said.replace(secret, "***")
    hint = HINTS.get(answer.status)
    return f"{said} ({hint})" if hint and said else hint or said


class WorkflowNotifier:
    def __init__(self, url: str, context: NotifyContext) -> None:
        self.url = url
        self.http = context.http
        parts = urlsplit(url)
        # Every piece of the URL that identifies or authorises the flow: never in a reason.
        self._secrets = [url, parts.path, parts.query, *(value for _, value in parse_qsl(parts.query)),
                         *(segment for segment in parts.path.split("/") if len(segment) >= 16)]

    def render(self, view: AlertView, thread: str | None) -> dict[str, Any]:
        # A Workflows webhook answers no message id: nothing to thread on.
        return render_message(view)

    async def send(self, payload: dict[str, Any]) -> Outcome:
        answer = await post(self.http, self.url, content=encoded(payload),
                            headers={"Content-Type": "application/json; charset=utf-8"})
        if not isinstance(answer, Answer):
            return answer
        return classify_error(answer, host_of(self.url), _detail(answer, self._secrets)) or Delivered(None)


def build(config: Config, context: NotifyContext, receiver: str) -> WorkflowNotifier:
    return WorkflowNotifier(config.webhook_url.get_secret_value(), context)
