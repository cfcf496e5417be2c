"""Discord: a channel webhook posting an embed.

Every user-supplied string is markdown-escaped (a backslash before each character Discord's markdown reads,
``@`` included) and mentions are switched off with ``allowed_mentions``, so a hostile error message can
neither format the embed nor ping a channel. Webhooks cannot reply to a message, so ``thread`` is unused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr

from otelmon.alerting.notify.base import AlertView, Delivered, NotifyContext, Outcome, RetryLater, view_links
from otelmon.alerting.notify.http import MAX_RETRY_AFTER_SECONDS, REASON_CHARS, Answer, classify_error, host_of, post
from otelmon.alerting.notify.wording import issue_line
from otelmon.email.render import format_duration, format_local, format_utc
from otelmon.text import ELLIPSIS

# Embed limits (Discord: Message resource, "Embed Limits"); the total counts title, description, field
# names and values, footer text and author name.
TITLE = 256
DESCRIPTION = 4096
FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER = 2048
TOTAL = 6000

COLORS = {"failure": 0xD93025, "summary": 0xF29900, "test": 0x1A73E8, "resolved": 0x188038}
# Inline markdown anywhere; lists, quotes and headings ("- ", "1. ", "-# ") only at the start of a line.
MARKDOWN = re.compile(r"([\\*_~`|<>#\[\]()@])")
LINE_MARKER = re.compile(r"^(\s*)([-+])", re.MULTILINE)
LIST_NUMBER = re.compile(r"^(\s*\d+)\.", re.MULTILINE)


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhook_url: SecretStr


@dataclass(frozen=True)
class Detail:
    """How much of a failure an embed shows; the renderer steps down until the embed fits in 6000."""

    message: int
    log_lines: int
    log_chars: int
    causes: int
    cause_chars: int
    rows: int


DETAILS = (Detail(1500, 5, 300, 5, 200, 10), Detail(600, 3, 150, 3, 100, 5), Detail(200, 0, 0, 0, 0, 3))


def escape(text: str) -> str:
    escaped = MARKDOWN.sub(r"\\\1", text)
    return LIST_NUMBER.sub(r"\1\\.", LINE_MARKER.sub(r"\1\\\2", escaped))


def md(text: Any, limit: int) -> str:
    """``text`` escaped, within ``limit`` characters after escaping; an ellipsis marks a cut (never one
    that splits an escape)."""
    raw = "" if text is None else str(text)
    whole = escape(raw)
    if len(whole) <= limit:
        return whole
    low, high = 0, min(len(raw), limit)
    while low < high:  # the longest prefix whose escaped form leaves room for the ellipsis
        middle = (low + high + 1) // 2
        if len(escape(raw[:middle])) <= limit - 1:
            low = middle
        else:
            high = middle - 1
    return escape(raw[:low]) + ELLIPSIS


def link(label: str, url: str) -> str:
    """A masked link; ``url`` is already RFC 3986-valid (``view_links``), so only a parenthesis could end it
    early, and an escaped one means the same to any server."""
    return f"[{escape(label)}]({url.replace('(', '%28').replace(')', '%29')})"


def _field(name: str, value: str, inline: bool = False) -> dict[str, Any]:
    return {"name": name, "value": value or "–", "inline": inline}


def _error(row: dict[str, Any]) -> str:
    return f"{row.get('error_type') or 'Error'}: {row.get('error_message') or '(no message)'}"


def lines_within(lines: list[str], limit: int, hidden: int = 0, what: str = "more") -> str:
    """Escaped ``lines`` joined, as many as fit in ``limit`` with the count of those left out."""
    kept: list[str] = []
    for number, line in enumerate(lines):
        left = len(lines) - number - 1 + hidden
        tail = f"\n…and {left} {what}" if left > 0 else ""
        if len("\n".join([*kept, line]) + tail) > limit:
            hidden += len(lines) - number
            break
        kept.append(line)
    return "\n".join(kept) + (f"\n…and {hidden} {what}" if hidden > 0 else "")


def _failure_fields(view: AlertView, detail: Detail) -> list[dict[str, Any]]:
    head = view.head or {}
    pipeline = f"{head.get('platform')} / {head.get('group')} / {head.get('process')}"
    line = issue_line(view.issue, view.display_timezone)
    fields = [_field("Issue", md(line, FIELD_VALUE))] if line else []
    fields.append(_field("Pipeline", md(pipeline, FIELD_VALUE)))
    if head.get("run_id"):
        run = f"{head['run_id']}" + (f", try {head['try_number']}" if head.get("try_number") else "")
        fields.append(_field("Run", md(run, FIELD_VALUE), inline=True))
    local = format_local(head.get("end_time"), view.display_timezone)
    when = format_utc(head.get("end_time")) + (f" ({local})" if local else "")
    fields.append(_field("When", md(f"{when}, took {format_duration(head.get('duration_seconds'))}", FIELD_VALUE),
                         inline=True))
    for name, value in (("Host", head.get("host")), ("Owner", view.labels.get("owner"))):
        if value:
            fields.append(_field(name, md(value, FIELD_VALUE), inline=True))
    if view.suppressed_count:
        fields.append(_field("Not alerted since the previous alert", f"{view.suppressed_count} repeats"))
    if view.status == "resolved":
        return fields
    logs = (head.get("log_lines") or [])[-detail.log_lines:] if detail.log_lines else []
    if logs:
        fields.append(_field("Last log lines", lines_within([md(line, detail.log_chars) for line in logs],
                                                            FIELD_VALUE, what="earlier lines")))
    if view.causes and detail.causes:
        shown = view.causes[:detail.causes]
        lines = [md(f"• {cause.get('process')}: {_error(cause)}", detail.cause_chars) for cause in shown]
        value = lines_within(lines, FIELD_VALUE, len(view.causes) - len(shown) + view.more_causes)
        fields.append(_field(f"Other failing steps: {len(view.causes) + view.more_causes}", value))
    return fields


def _summary_description(view: AlertView, detail: Detail) -> str:
    if not view.summary_rows:
        return ""
    shown = view.summary_rows[:detail.rows]
    lines = [md(f"• {row['count']}× {row['platform']} / {row['group']} / {row['process']}: {_error(row)}",
                detail.cause_chars) for row in shown]
    hidden = len(view.summary_rows) - len(shown) + view.more_summary_rows
    return "Most frequent of the held-back failures:\n" + lines_within(lines, DESCRIPTION - 60, hidden, "more kinds")


def _links(view: AlertView) -> list[dict[str, Any]]:
    shown: list[str] = []
    for _, label, url in view_links(view):
        if len(" · ".join([*shown, link(label, url)])) <= FIELD_VALUE:  # a link cut short would lead nowhere
            shown.append(link(label, url))
    return [_field("Links", " · ".join(shown))] if shown else []


def embed_of(view: AlertView, detail: Detail) -> dict[str, Any]:
    state = "resolved" if view.status == "resolved" else view.kind
    embed: dict[str, Any] = {"title": md(view.title, TITLE), "color": COLORS[state]}
    if view.kind == "test":
        embed["description"] = "Alerts for this receiver will arrive in this channel."
        fields: list[dict[str, Any]] = []
    elif view.kind == "summary":
        embed["description"] = _summary_description(view, detail)
        fields = _links(view)
    else:
        head = view.head or {}
        embed["description"] = md(("Was " if state == "resolved" else "") + _error(head), detail.message)
        fields = _failure_fields(view, detail) + _links(view)
    embed["fields"] = fields[:FIELDS]
    trace = next((url for key, _, url in view_links(view) if key == "trace"), None)
    if trace:
        embed["url"] = trace
    footer = f"OtelMon alert {view.alert_id}" + (f" · fingerprint {view.fingerprint}" if view.fingerprint else "")
    embed["footer"] = {"text": md(footer, FOOTER)}
    if view.created_at is not None:
        embed["timestamp"] = view.created_at.isoformat()
    return embed


def embed_chars(embed: dict[str, Any]) -> int:
    return (len(embed.get("title", "")) + len(embed.get("description", "")) + len(embed["footer"]["text"])
            + sum(len(field["name"]) + len(field["value"]) for field in embed.get("fields", [])))


class DiscordNotifier:
    def __init__(self, config: Config, context: NotifyContext) -> None:
        self.config = config
        self.context = context

    def render(self, view: AlertView, thread: str | None) -> dict[str, Any]:
        for detail in DETAILS:
            embed = embed_of(view, detail)
            if embed_chars(embed) <= TOTAL:
                break
        while embed_chars(embed) > TOTAL and embed["fields"]:
            embed["fields"].pop()
        return {"embeds": [embed], "allowed_mentions": {"parse": []}}

    async def send(self, payload: dict[str, Any]) -> Outcome:
        # wait=true: Discord answers with the message it created, whose id is the reference.
        url = str(httpx.URL(self.config.webhook_url.get_secret_value()).copy_merge_params({"wait": "true"}))
        answer = await post(self.context.http, url, json_body=payload)
        return answer if not isinstance(answer, Answer) else outcome_of(answer, host_of(url))


def outcome_of(answer: Answer, where: str) -> Outcome:
    """Errors are ``{"message", "code"}``; a 429 adds ``retry_after`` (seconds, fractional) and ``global``
    beside the ``Retry-After`` header."""
    body = answer.json()
    body = body if isinstance(body, dict) else {}
    detail = None
    if body.get("message"):
        detail = str(body["message"]) + (f" (code {body['code']})" if body.get("code") is not None else "")
        detail = detail[:REASON_CHARS]
    classified = classify_error(answer, where, detail)
    if classified is None:
        return Delivered(str(body["id"]) if body.get("id") is not None else None)
    retry_after = body.get("retry_after")
    if answer.status == 429 and isinstance(retry_after, (int, float)) and retry_after >= 0:
        scope = " (global)" if body.get("global") else ""
        return RetryLater(classified.reason + scope, min(float(retry_after), MAX_RETRY_AFTER_SECONDS))
    return classified


def build(config: Config, context: NotifyContext, receiver: str) -> DiscordNotifier:
    return DiscordNotifier(config, context)
