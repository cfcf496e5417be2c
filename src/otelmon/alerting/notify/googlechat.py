"""Google Chat: an incoming webhook posting a card (cardsV2).

A failure's repeats and its recovery land in one thread: the message names ``thread.threadKey`` = the
fingerprint and the URL asks for ``messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD``, so Chat itself
finds the thread and ``thread`` from delivery is not needed. Card text is Chat's HTML subset: every
user-supplied string is HTML-escaped there; the card header and ``fallbackText`` are plain text.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr

from otelmon.alerting.notify.base import AlertView, Delivered, NotifyContext, Outcome, view_links
from otelmon.alerting.notify.http import REASON_CHARS, Answer, classify_error, host_of, post
from otelmon.alerting.notify.wording import issue_line
from otelmon.email.render import format_duration, format_local, format_utc
from otelmon.text import clip

# "The maximum message size, including text and cards, is 32,000 bytes"; a card takes at most 100 widgets.
MESSAGE_BYTES = 32_000
WIDGETS = 100
HEADER_CHARS = 200
THREAD_KEY_CHARS = 4000
REPLY_OPTION = "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"

SUBTITLES = {"failure": "Failure", "summary": "Storm summary", "test": "Test message", "resolved": "Recovered"}


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhook_url: SecretStr


@dataclass(frozen=True)
class Detail:
    """How much of a failure a card shows; the renderer steps down until the message fits in 32,000 bytes."""

    message: int
    names: int
    log_lines: int
    log_chars: int
    causes: int
    cause_chars: int
    rows: int


DETAILS = (Detail(2000, 300, 10, 500, 10, 300, 20), Detail(800, 200, 5, 200, 5, 150, 10),
           Detail(300, 100, 0, 0, 3, 100, 5), Detail(100, 60, 0, 0, 0, 0, 0))


def esc(text: Any, chars: int | None = None) -> str:
    return html.escape(clip("" if text is None else str(text), chars) or "", quote=False)


def paragraph(text: str) -> dict[str, Any]:
    return {"textParagraph": {"text": text}}


def labelled(label: str, text: str) -> dict[str, Any]:
    return {"decoratedText": {"topLabel": label, "text": text, "wrapText": True}}


def _error(row: dict[str, Any], chars: int, names: int) -> str:
    return f"<b>{esc(row.get('error_type') or 'Error', names)}</b>: {esc(row.get('error_message') or '', chars)}"


def _facts(view: AlertView, detail: Detail) -> list[dict[str, Any]]:
    head = view.head or {}
    names = detail.names
    line = issue_line(view.issue, view.display_timezone)
    widgets = [labelled("Issue", esc(line))] if line else []
    pipeline = " / ".join(esc(head.get(key), names) for key in ("platform", "group", "process"))
    widgets.append(labelled("Pipeline", pipeline))
    if head.get("run_id"):
        try_number = f", try {head['try_number']}" if head.get("try_number") else ""
        widgets.append(labelled("Run", esc(head["run_id"], names) + try_number))
    local = format_local(head.get("end_time"), view.display_timezone)
    when = format_utc(head.get("end_time")) + (f" ({local})" if local else "")
    widgets.append(labelled("When", esc(f"{when}, took {format_duration(head.get('duration_seconds'))}")))
    for label, value in (("Host", head.get("host")), ("Owner", view.labels.get("owner"))):
        if value:
            widgets.append(labelled(label, esc(value, names)))
    if view.suppressed_count:
        widgets.append(labelled("Not alerted since the previous alert", f"{view.suppressed_count} repeats"))
    return widgets


def _failure_sections(view: AlertView, state: str, detail: Detail) -> list[dict[str, Any]]:
    head = view.head or {}
    was = "Was " if state == "resolved" else ""
    sections = [{"widgets": [paragraph(was + _error(head, detail.message, detail.names))]},
                {"widgets": _facts(view, detail)}]
    if state == "resolved":
        return sections
    logs = (head.get("log_lines") or [])[-detail.log_lines:] if detail.log_lines else []
    if logs:
        text = "<br>".join(esc(line, detail.log_chars) for line in logs)
        sections.append({"header": "Last log lines", "collapsible": True, "widgets": [paragraph(text)]})
    shown = view.causes[:detail.causes]
    if shown:
        widgets = [paragraph(f"{esc(cause.get('process'), detail.names)}<br>"
                             + _error(cause, detail.cause_chars, detail.names)) for cause in shown]
        hidden = len(view.causes) - len(shown) + view.more_causes
        if hidden > 0:
            widgets.append(paragraph(f"…and {hidden} more"))
        section: dict[str, Any] = {"header": f"Other failing steps ({len(view.causes) + view.more_causes})"}
        if len(widgets) > 2:  # the first two shown, the rest one click away
            section |= {"collapsible": True, "uncollapsibleWidgetsCount": 2}
        sections.append({**section, "widgets": widgets})
    return sections


def _summary_sections(view: AlertView, detail: Detail) -> list[dict[str, Any]]:
    shown = view.summary_rows[:detail.rows]
    widgets = [paragraph(f"<b>{row['count']}×</b> "
                         + " / ".join(esc(row.get(key), detail.names) for key in ("platform", "group", "process"))
                         + "<br>" + _error(row, detail.cause_chars, detail.names)) for row in shown]
    hidden = len(view.summary_rows) - len(shown) + view.more_summary_rows
    if hidden > 0:
        widgets.append(paragraph(f"…and {hidden} more kinds"))
    return [{"header": "Most frequent of the held-back failures", "widgets": widgets}] if widgets else []


def _buttons(view: AlertView) -> list[dict[str, Any]]:
    buttons = [{"text": label, "onClick": {"openLink": {"url": url}}} for _, label, url in view_links(view)]
    return [{"widgets": [{"buttonList": {"buttons": buttons}}]}] if buttons else []


def card_of(view: AlertView, detail: Detail) -> dict[str, Any]:
    state = "resolved" if view.status == "resolved" else view.kind
    if view.kind == "test":
        sections = [{"widgets": [paragraph(f"Sent {esc(format_utc(view.created_at))}: alerts for this receiver "
                                           "will arrive in this space.")]}]
    elif view.kind == "summary":
        sections = _summary_sections(view, detail)
    else:
        sections = _failure_sections(view, state, detail)
    header = {"title": clip(view.title, HEADER_CHARS), "subtitle": SUBTITLES[state]}
    return {"header": header, "sections": [*sections, *_buttons(view)]}


def message_bytes(message: dict[str, Any]) -> int:
    return len(json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode())


def widget_count(card: dict[str, Any]) -> int:
    return sum(len(section["widgets"]) for section in card["sections"])


class GoogleChatNotifier:
    def __init__(self, config: Config, context: NotifyContext) -> None:
        self.config = config
        self.context = context

    def render(self, view: AlertView, thread: str | None) -> dict[str, Any]:
        for detail in DETAILS:
            message: dict[str, Any] = {
                "fallbackText": clip(view.title, HEADER_CHARS),
                "cardsV2": [{"cardId": f"otelmon-alert-{view.alert_id}", "card": card_of(view, detail)}],
            }
            if view.fingerprint:
                message["thread"] = {"threadKey": view.fingerprint[:THREAD_KEY_CHARS]}
            card = message["cardsV2"][0]["card"]
            if message_bytes(message) <= MESSAGE_BYTES and widget_count(card) <= WIDGETS:
                break
        return message

    async def send(self, payload: dict[str, Any]) -> Outcome:
        url = httpx.URL(self.config.webhook_url.get_secret_value())
        if "thread" in payload:
            url = url.copy_merge_params({"messageReplyOption": REPLY_OPTION})
        answer = await post(self.context.http, str(url), json_body=payload)
        return answer if not isinstance(answer, Answer) else outcome_of(answer, host_of(str(url)))


def outcome_of(answer: Answer, where: str) -> Outcome:
    """Errors are Google's ``{"error": {"code", "message", "status"}}``; success is the created Message,
    whose ``name`` (spaces/S/messages/M) is the reference."""
    body = answer.json()
    body = body if isinstance(body, dict) else {}
    problem = body.get("error") if isinstance(body.get("error"), dict) else None
    detail = None
    if problem:
        detail = ": ".join(str(problem[key]) for key in ("status", "message") if problem.get(key))[:REASON_CHARS]
    classified = classify_error(answer, where, detail)
    if classified is not None:
        return classified
    return Delivered(str(body["name"]) if body.get("name") else None)


def build(config: Config, context: NotifyContext, receiver: str) -> GoogleChatNotifier:
    return GoogleChatNotifier(config, context)
