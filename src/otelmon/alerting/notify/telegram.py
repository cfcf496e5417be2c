"""Telegram: the Bot API's ``sendMessage`` in HTML parse mode.

Repeats and the recovery of a fingerprint reply to the chat's first alert of it (``thread`` is that message's
id), so one failure's story stays together in the chat.
"""

from __future__ import annotations

import dataclasses
import html
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

from otelmon.alerting.notify.base import (
    AlertView,
    Delivered,
    NotifyContext,
    Outcome,
    PermanentFailure,
    RetryLater,
    view_links,
)
from otelmon.alerting.notify.http import (
    MAX_RETRY_AFTER_SECONDS,
    REASON_CHARS,
    Answer,
    classify_error,
    host_of,
    post,
)
from otelmon.alerting.notify.wording import issue_line
from otelmon.email.render import format_duration, format_local, format_utc
from otelmon.text import ELLIPSIS, clip

# "1-4096 characters after entities parsing" (sendMessage); counted in UTF-16 code units, as Telegram's
# entity offsets are, which is never fewer than Python's characters.
TEXT_LIMIT = 4096
TITLE_CHARS = 256
MESSAGE_CHARS = 1000
LOG_LINES = 5
LOG_LINE_CHARS = 300
CAUSES = 5
CAUSE_MESSAGE_CHARS = 200
SUMMARY_ROWS = 10

ICONS = {"failure": "🔴", "summary": "🟠", "test": "🧪", "resolved": "✅"}


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bot_token: SecretStr
    chat_id: str
    api_url: str = "https://api.telegram.org"
    message_thread_id: int | None = None

    @field_validator("chat_id", mode="before")
    @classmethod
    def _chat_id_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value


@dataclass(frozen=True)
class Piece:
    """A run of visible text, optionally inside one tag (``a`` with ``href``)."""

    text: str
    tag: str | None = None
    href: str | None = None

    def html(self, text: str) -> str:
        escaped = html.escape(text, quote=False)
        if self.tag is None:
            return escaped
        if self.tag == "a":
            return f'<a href="{html.escape(self.href or "", quote=True)}">{escaped}</a>'
        return f"<{self.tag}>{escaped}</{self.tag}>"


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def clip_units(text: str, limit: int) -> str:
    """``text`` within ``limit`` UTF-16 units, an ellipsis marking a cut."""
    if utf16_units(text) <= limit:
        return text
    kept, used = [], 1  # the ellipsis
    for char in text:
        used += utf16_units(char)
        if used > limit:
            break
        kept.append(char)
    return "".join(kept) + ELLIPSIS if limit > 0 else ""


def fit(pieces: list[Piece], limit: int = TEXT_LIMIT) -> str:
    """The HTML text of ``pieces``, cut on the visible text so that every tag stays closed."""
    out, used = [], 0
    for piece in pieces:
        if not piece.text:
            continue
        text = clip_units(piece.text, limit - used)
        if text:
            out.append(piece.html(text))
            used += utf16_units(text)
        if text != piece.text:
            break
    return "".join(out).rstrip()


def _when(row: dict[str, Any], zone: str) -> str:
    local = format_local(row.get("end_time"), zone)
    took = format_duration(row.get("duration_seconds"))
    return f"{format_utc(row.get('end_time'))}" + (f" ({local})" if local else "") + f", took {took}"


def _error(row: dict[str, Any], chars: int) -> list[Piece]:
    return [Piece(clip(row.get("error_type") or "Error", TITLE_CHARS), "b"),
            Piece(": " + (clip(row.get("error_message") or "", chars) or "(no message)"))]


def _links(view: AlertView) -> list[Piece]:
    pieces: list[Piece] = []
    for _, label, url in view_links(view):
        pieces += [Piece(" · ")] if pieces else []
        pieces.append(Piece(label, "a", url))
    return pieces + [Piece("\n")] if pieces else []


def _failure(view: AlertView) -> list[Piece]:
    head = view.head or {}
    line = issue_line(view.issue, view.display_timezone)
    pieces = [Piece(line, "i"), Piece("\n")] if line else []
    pieces += ([Piece("Was ")] if view.status == "resolved" else []) + _error(head, MESSAGE_CHARS) + [Piece("\n\n")]
    pieces.append(Piece(f"Pipeline: {head.get('platform')} / {head.get('group')} / {head.get('process')}\n"))
    if head.get("run_id"):
        pieces += [Piece("Run: "), Piece(clip(head["run_id"], TITLE_CHARS), "code"),
                   Piece(f", try {head.get('try_number')}\n" if head.get("try_number") else "\n")]
    pieces.append(Piece(f"When: {_when(head, view.display_timezone)}\n"))
    if head.get("host"):
        pieces.append(Piece(f"Host: {clip(head['host'], TITLE_CHARS)}\n"))
    if view.labels.get("owner"):
        pieces.append(Piece(f"Owner: {clip(view.labels['owner'], TITLE_CHARS)}\n"))
    if view.suppressed_count:
        pieces.append(Piece(f"{view.suppressed_count} repeats not alerted since the previous alert\n"))
    pieces += _links(view)
    if view.status == "resolved":
        return pieces
    logs = [clip(line, LOG_LINE_CHARS) for line in (head.get("log_lines") or [])[-LOG_LINES:]]
    if logs:
        pieces += [Piece("\nLast log lines:\n"), Piece("\n".join(logs), "pre")]
    if view.causes:
        pieces.append(Piece(f"\n\nOther failing steps ({len(view.causes) + view.more_causes}):"))
        for cause in view.causes[:CAUSES]:
            pieces += [Piece(f"\n• {clip(cause.get('process'), TITLE_CHARS)}: ")] + _error(cause, CAUSE_MESSAGE_CHARS)
        hidden = len(view.causes) - CAUSES + view.more_causes
        if hidden > 0:
            pieces.append(Piece(f"\n…and {hidden} more"))
    return pieces


def _summary(view: AlertView) -> list[Piece]:
    pieces = [Piece("Most frequent of the held-back failures:\n")] if view.summary_rows else []
    for row in view.summary_rows[:SUMMARY_ROWS]:
        pieces += [Piece(f"• {row['count']}× {row['platform']} / {row['group']} / {row['process']}: ")]
        pieces += _error(row, CAUSE_MESSAGE_CHARS) + [Piece("\n")]
    hidden = len(view.summary_rows) - SUMMARY_ROWS + view.more_summary_rows
    if hidden > 0:
        pieces.append(Piece(f"…and {hidden} more kinds\n"))
    return _links(view) + pieces


def pieces_of(view: AlertView) -> list[Piece]:
    icon = ICONS["resolved" if view.status == "resolved" else view.kind]
    pieces = [Piece(f"{icon} "), Piece(clip(view.title, TITLE_CHARS), "b"), Piece("\n")]
    if view.kind == "test":
        when = format_utc(view.created_at)
        return pieces + [Piece(f"Sent {when}: alerts for this receiver will arrive in this chat.")]
    if view.kind == "summary":
        return pieces + _summary(view)
    return pieces + _failure(view)


class TelegramNotifier:
    def __init__(self, config: Config, context: NotifyContext) -> None:
        self.config = config
        self.context = context

    def render(self, view: AlertView, thread: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "chat_id": self.config.chat_id,
            "text": fit(pieces_of(view)),
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
        }
        if self.config.message_thread_id is not None:
            body["message_thread_id"] = self.config.message_thread_id
        if thread and thread.isdigit():
            # The first alert may have been deleted since: then this one is sent on its own.
            body["reply_parameters"] = {"message_id": int(thread), "allow_sending_without_reply": True}
        return body

    async def send(self, payload: dict[str, Any]) -> Outcome:
        token = self.config.bot_token.get_secret_value()
        url = f"{self.config.api_url.rstrip('/')}/bot{token}/sendMessage"
        answer = await post(self.context.http, url, json_body=payload)
        outcome = answer if not isinstance(answer, Answer) else outcome_of(answer, host_of(url))
        return _without(outcome, token)


def outcome_of(answer: Answer, where: str) -> Outcome:
    """Telegram answers ``{"ok": true, "result": Message}`` or ``{"ok": false, "error_code", "description",
    "parameters": {"retry_after", "migrate_to_chat_id"}}``, ``error_code`` being the HTTP status."""
    body = answer.json()
    body = body if isinstance(body, dict) else {}
    if body.get("ok") is True and 200 <= answer.status < 300:
        result = body.get("result")
        message_id = result.get("message_id") if isinstance(result, dict) else None
        return Delivered(str(message_id) if message_id is not None else None)
    detail = str(body.get("description") or answer.text())[:REASON_CHARS]
    parameters = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
    if parameters.get("migrate_to_chat_id") is not None:
        return PermanentFailure(f"the group became a supergroup: set chat_id to {parameters['migrate_to_chat_id']}"
                                f" ({detail})")
    classified = classify_error(answer, where, detail)
    if classified is None:  # 2xx without ok: true
        return PermanentFailure(f"HTTP {answer.status} from {where} without ok: true: {detail}")
    retry_after = parameters.get("retry_after")
    if isinstance(classified, RetryLater) and isinstance(retry_after, (int, float)) and retry_after >= 0:
        return RetryLater(classified.reason, min(float(retry_after), MAX_RETRY_AFTER_SECONDS))
    return classified


def _without(outcome: Outcome, secret: str) -> Outcome:
    """The outcome with ``secret`` masked in its reason, should a proxy ever echo the URL back."""
    if isinstance(outcome, Delivered) or not secret or secret not in outcome.reason:
        return outcome
    return dataclasses.replace(outcome, reason=outcome.reason.replace(secret, "***"))


def build(config: Config, context: NotifyContext, receiver: str) -> TelegramNotifier:
    return TelegramNotifier(config, context)
