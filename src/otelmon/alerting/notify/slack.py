"""Slack: an incoming webhook, or a bot token (``chat.postMessage``) whose repeats and recovery go to the
first message's thread. Block Kit built with ``slack_sdk``'s models.

Every user-supplied string is escaped for mrkdwn (``&``, ``<``, ``>`` as entities, which also defuses
``<!channel>`` and ``<@U…>``) and shown inside code spans or blocks, where ``*bold*`` and ``_italic_`` are
not interpreted; it is clipped, with an ellipsis, below each of Slack's limits before ``slack_sdk`` checks
them, so building a message never raises.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, SecretStr, model_validator
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from otelmon.alerting.notify.base import (
    AlertView,
    Delivered,
    NotifyContext,
    Outcome,
    PermanentFailure,
    RetryLater,
    view_links,
)
from otelmon.alerting.notify.http import Answer, classify_error, host_of, post, retry_after_seconds
from otelmon.alerting.notify.wording import issue_line
from otelmon.email.render import format_duration, format_local, format_utc
from otelmon.text import ELLIPSIS, clip


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    webhook_url: SecretStr | None = None
    bot_token: SecretStr | None = None
    channel: str | None = None
    api_url: str = "https://slack.com/api"

    @model_validator(mode="after")
    def _one_mode(self) -> Config:
        if (self.webhook_url is None) == (self.bot_token is None):
            raise ValueError("give either webhook_url, or bot_token with channel")
        if self.bot_token is not None and not self.channel:
            raise ValueError("bot_token needs channel")
        secret = self.webhook_url or self.bot_token
        if secret is not None and not secret.get_secret_value().strip():
            raise ValueError("webhook_url or bot_token is empty (an unset ${VAR}?)")
        return self


# Slack's documented limits (Block Kit reference, chat.postMessage); slack_sdk's models enforce the first ones.
HEADER_CHARS = HeaderBlock.text_max_length  # 150
SECTION_CHARS = SectionBlock.text_max_length  # 3000
FIELDS = SectionBlock.fields_max_length  # 10
FIELD_CHARS = 2000
BUTTON_URL_CHARS = ButtonElement.url_max_length  # 3000
BUTTONS = ActionsBlock.elements_max_length  # 25
MAX_BLOCKS = 50
# A message's ``text`` may hold 40,000 characters; it is the notification's and the screen reader's text,
# so it stays short.
FALLBACK_CHARS = 3000
# What a person reads in a channel: a few lines of each kind, the trace link for the rest.
MESSAGE_CHARS = 1500
LOG_LINES = 5
LOG_LINE_CHARS = 300
CAUSES = 5
CAUSE_CHARS = 200
SUMMARY_ROWS = 10
SUMMARY_MESSAGE_CHARS = 100

# Errors ``chat.postMessage`` / ``chat.update`` answer (HTTP 200, ``ok: false``) that retrying can cure; every
# other one (invalid_auth, channel_not_found, not_in_channel, is_archived, msg_too_long, invalid_blocks, ...)
# is permanent.
RETRYABLE_ERRORS = frozenset({"ratelimited", "fatal_error", "internal_error", "service_unavailable",
                              "request_timeout", "team_added_to_org"})
HINTS = {
    "not_in_channel": "invite the bot to the channel (/invite @your-app)",
    "channel_not_found": "check channel, and that the bot was invited to a private channel",
    "missing_scope": "the app needs the chat:write scope",
    "invalid_auth": "check bot_token",
    "not_authed": "check bot_token",
    "token_revoked": "the token was revoked: install the app again and use the new token",
    "account_inactive": "the token's user or app was deactivated",
    "is_archived": "the channel is archived",
}
WEBHOOK_HINTS = {
    404: "the webhook was removed or its URL is wrong",
    410: "the channel is archived",
    403: "the webhook is no longer allowed to post",
}

_MENTION = re.compile(r"@(?=(?:channel|here|everyone)\b)", re.IGNORECASE)
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")


def escape(text: Any) -> str:
    """``text`` as mrkdwn shows it literally: control characters as entities (Slack's "Escaping text"), and a
    zero-width space after the ``@`` of @channel/@here/@everyone so no client reads it as a mention."""
    escaped = str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MENTION.sub("@\u200b", escaped)


def _clip_escaped(text: str, limit: int) -> str:
    """Escaped ``text`` within ``limit`` characters, never cutting an entity in two."""
    if len(text) <= limit:
        return text
    return _PARTIAL_ENTITY.sub("", text[: max(limit - 1, 0)]) + ELLIPSIS


def code(value: Any, limit: int = FIELD_CHARS) -> str:
    """An inline code span: mrkdwn's formatting is off inside it; a backtick would end it, so none is left."""
    if value is None or value == "":
        return "–"
    inner = escape(value).replace("`", "\u02cb").replace("\n", " ")
    return f"`{_clip_escaped(inner, limit - 2)}`"


def code_block(lines: list[str], limit: int) -> str:
    inner = escape("\n".join(str(line) for line in lines)).replace("```", "``\u200b`")
    return f"```\n{_clip_escaped(inner, limit - 8)}\n```"


def _section(label: str, body: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=f"*{label}*\n{body}"))


def _section_code(label: str, lines: list[str]) -> SectionBlock:
    return _section(label, code_block(lines, SECTION_CHARS - len(label) - 3))


def _field(label: str, value: Any) -> MarkdownTextObject:
    return MarkdownTextObject(text=f"*{label}*\n{code(value, FIELD_CHARS - len(label) - 3)}")


def _when(view: AlertView) -> str:
    local = format_local(view.created_at, view.display_timezone)
    return format_utc(view.created_at) + (f" ({local})" if local else "")


def _head_fields(view: AlertView, head: dict[str, Any]) -> SectionBlock:
    run = head.get("run_id")
    if head.get("try_number") is not None:
        run = f"{run or '–'} (try {head['try_number']})"
    fields = [
        _field("Platform", head.get("platform")), _field("Group", head.get("group")),
        _field("Process", head.get("process")), _field("Error type", head.get("error_type")),
        _field("Run", run), _field("Started", format_utc(head.get("start_time"))),
        _field("Duration", format_duration(head.get("duration_seconds"))), _field("Host", head.get("host")),
    ]
    if view.labels.get("owner"):
        fields.append(_field("Owner", view.labels["owner"]))
    return SectionBlock(fields=fields[:FIELDS])


def _causes(view: AlertView) -> SectionBlock | None:
    if not view.causes:
        return None
    lines = _fit_lines([f"• {code(cause.get('process'), 300)} {code(cause.get('error_type'), 200)}: "
                        f"{code(clip(str(cause.get('error_message') or ''), CAUSE_CHARS), CAUSE_CHARS + 50)}"
                        for cause in view.causes[:CAUSES]], SECTION_CHARS - 100)
    more = len(view.causes) - len(lines) + view.more_causes
    if more > 0:
        lines.append(f"…and {more} more failing steps")
    return _section("Also failing in this trace", "\n".join(lines))


def _fit_lines(lines: list[str], limit: int) -> list[str]:
    """The first of ``lines`` whose total, one per line, fits in ``limit`` characters."""
    kept: list[str] = []
    size = 0
    for line in lines:
        size += len(line) + 1
        if size > limit:
            break
        kept.append(line)
    return kept


def _buttons(view: AlertView) -> ActionsBlock | None:
    # A URL button only opens the link (Slack sends no interaction payload for it to an app without a
    # request URL); a URL Slack would refuse is left out rather than losing the whole message.
    buttons = [ButtonElement(text=PlainTextObject(text=label), url=url, action_id=f"otelmon-{key}")
               for key, label, url in view_links(view) if len(url) <= BUTTON_URL_CHARS]
    return ActionsBlock(elements=buttons[:BUTTONS]) if buttons else None


def _context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(text, SECTION_CHARS))])


def _failure_blocks(view: AlertView) -> list[Block | None]:
    head = view.head or {}
    resolved = view.status == "resolved"
    line = issue_line(view.issue, view.display_timezone)
    blocks: list[Block | None] = [_context(escape(line)) if line else None, _head_fields(view, head)]
    blocks.append(_section_code("Last error" if resolved else "Error",
                                [clip(str(head.get("error_message") or "–"), MESSAGE_CHARS)]))
    logs = [clip(str(line), LOG_LINE_CHARS) for line in (head.get("log_lines") or [])[-LOG_LINES:]]
    if logs and not resolved:
        blocks.append(_section_code(f"Last {len(logs)} log lines", logs))
    if not resolved:
        blocks.append(_causes(view))
    notes = [f"{view.failure_count} failing step{'s' if view.failure_count != 1 else ''} in this alert"]
    if view.suppressed_count:
        notes.append(f"{view.suppressed_count} repeats not alerted since the previous alert")
    if resolved:
        notes = ["no new failure of this kind since the last alert"]
    notes.append(_when(view))
    blocks.append(_context(" · ".join(notes)))
    return blocks


def _summary_blocks(view: AlertView) -> list[Block | None]:
    rows = _fit_lines([f"• {code(' / '.join(str(row.get(k) or '–') for k in ('platform', 'group', 'process')), 300)}"
                       f" ×{int(row.get('count') or 0)}: {code(row.get('error_type'), 100)} "
                       f"{code(clip(str(row.get('error_message') or ''), SUMMARY_MESSAGE_CHARS), 150)}"
                       for row in view.summary_rows[:SUMMARY_ROWS]], SECTION_CHARS)
    more = len(view.summary_rows) - len(rows) + view.more_summary_rows
    cap = f" (over {view.storm_cap} alerts a minute)" if view.storm_cap else ""
    blocks: list[Block | None] = [
        SectionBlock(text=MarkdownTextObject(text=f"*{view.failure_count} failures held back{cap}.* Most frequent:")),
        SectionBlock(text=MarkdownTextObject(text="\n".join(rows) or "–")),
    ]
    blocks.append(_context(" · ".join(([f"…and {more} more"] if more > 0 else []) + [_when(view)])))
    return blocks


def _test_blocks(view: AlertView) -> list[Block | None]:
    return [SectionBlock(text=MarkdownTextObject(
        text="If you can read this, OtelMon's alerts for this receiver reach this channel.")),
        _context(_when(view))]


ICONS = {"failure": "🔴", "summary": "⚠️", "test": "🧪"}


def blocks_for(view: AlertView, status_line: str | None = None) -> list[dict[str, Any]]:
    """The message's Block Kit blocks, as dicts (``to_dict`` runs slack_sdk's limit checks)."""
    icon = "✅" if view.status == "resolved" else ICONS.get(view.kind, "🔔")
    blocks: list[Block | None] = []
    if status_line:
        blocks.append(_context(status_line))
    blocks.append(HeaderBlock(text=PlainTextObject(text=clip(f"{icon} {view.title}", HEADER_CHARS), emoji=False)))
    if view.kind == "summary":
        blocks += _summary_blocks(view)
    elif view.kind == "test":
        blocks += _test_blocks(view)
    else:
        blocks += _failure_blocks(view)
    blocks.append(_buttons(view))
    return [block.to_dict() for block in blocks if block is not None][:MAX_BLOCKS]


def fallback_text(view: AlertView) -> str:
    """The plain ``text``: notifications, screen readers, clients without blocks."""
    text = view.title
    if view.kind == "failure" and view.head and view.status == "firing":
        text += f": {view.head.get('error_type') or 'error'}: {clip(str(view.head.get('error_message') or ''), 300)}"
    return _clip_escaped(escape(text), FALLBACK_CHARS)


def status_line(view: AlertView) -> str:
    """The line put on top of the thread's first message when a repeat or the recovery is posted to it."""
    if view.status == "resolved":
        return f"✅ *Recovered* ({_when(view)}): see the thread"
    repeats = f", {view.suppressed_count} repeats not alerted" if view.suppressed_count else ""
    return f"🔁 *Failed again* ({_when(view)}{repeats}): latest alert in the thread"


def parse_reference(reference: str | None) -> tuple[str, str] | None:
    """``(channel id, ts)`` from a ``Delivered.reference`` of bot mode, None when it is not one."""
    if not reference or ":" not in reference:
        return None
    channel, ts = reference.split(":", 1)
    return (channel, ts) if channel and ts else None


@dataclass(frozen=True)
class SlackPayload:
    message: dict[str, Any]  # the webhook's body, or chat.postMessage's arguments
    update: dict[str, Any] | None = None  # chat.update of the thread's first message (bot mode only)
    thread: str | None = None  # "<channel id>:<ts>" of that first message


def encoded(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


JSON_UTF8 = {"Content-Type": "application/json; charset=utf-8"}


def _without(outcome: Outcome, *secrets: str) -> Outcome:
    """``outcome`` with ``secrets`` masked in its reason, should a vendor or proxy ever echo one."""
    if isinstance(outcome, Delivered):
        return outcome
    reason = outcome.reason
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        reason = reason.replace(secret, "***")
    if reason == outcome.reason:
        return outcome
    return RetryLater(reason, outcome.after_seconds) if isinstance(outcome, RetryLater) else PermanentFailure(reason)


class WebhookNotifier:
    """An incoming webhook: answers 200 ``ok``, or an error code as text with a 4xx/5xx status."""

    def __init__(self, url: str, context: NotifyContext) -> None:
        self.url = url
        self.http = context.http

    def render(self, view: AlertView, thread: str | None) -> SlackPayload:
        # A webhook cannot thread nor update: every alert is a message of its own.
        return SlackPayload({"text": fallback_text(view), "blocks": blocks_for(view),
                             "unfurl_links": False, "unfurl_media": False})

    async def send(self, payload: SlackPayload) -> Outcome:
        answer = await post(self.http, self.url, content=encoded(payload.message), headers=JSON_UTF8)
        if not isinstance(answer, Answer):
            return answer
        said = answer.text(100)
        hint = WEBHOOK_HINTS.get(answer.status)
        outcome = classify_error(answer, host_of(self.url), f"{said} ({hint})" if hint else said)
        return _without(outcome or Delivered(), self.url, urlsplit(self.url).path)


class BotNotifier:
    """A bot token: ``chat.postMessage``; a repeat or the recovery goes to the first message's thread and
    ``chat.update`` puts a status line on that first message."""

    def __init__(self, token: str, channel: str, api_url: str, context: NotifyContext) -> None:
        self.token = token
        self.channel = channel
        self.api_url = api_url.rstrip("/")
        self.http = context.http

    def render(self, view: AlertView, thread: str | None) -> SlackPayload:
        text, blocks = fallback_text(view), blocks_for(view)
        message: dict[str, Any] = {"channel": self.channel, "text": text, "blocks": blocks,
                                   "unfurl_links": False, "unfurl_media": False}
        parent = parse_reference(thread) if view.kind != "test" else None
        if parent is None:
            return SlackPayload(message)
        channel_id, ts = parent
        message.update(channel=channel_id, thread_ts=ts)
        update = {"channel": channel_id, "ts": ts, "text": text,
                  "blocks": blocks_for(view, status_line(view))}
        return SlackPayload(message, update, thread)

    async def send(self, payload: SlackPayload) -> Outcome:
        answer = await self._call("chat.postMessage", payload.message)
        if not isinstance(answer, dict):
            return _without(answer, self.token)
        if payload.update is not None:
            # The reply is delivered whatever happens here: a failed update only leaves the old status line.
            await self._call("chat.update", payload.update)
            return Delivered(payload.thread)
        return Delivered(f"{answer.get('channel') or self.channel}:{answer.get('ts')}")

    async def _call(self, method: str, body: dict[str, Any]) -> dict[str, Any] | Outcome:
        url = f"{self.api_url}/{method}"
        answer = await post(self.http, url, content=encoded(body),
                            headers={**JSON_UTF8, "Authorization": f"Bearer {self.token}"})
        if not isinstance(answer, Answer):
            return answer
        where = host_of(url)
        data = answer.json()
        error = data.get("error") if isinstance(data, dict) else None
        failed = classify_error(answer, f"{where} ({method})", str(error)[:100] if error else None)
        if failed is not None:
            return failed
        if not isinstance(data, dict):
            return RetryLater(f"{method} at {where}: HTTP {answer.status} without a JSON answer")
        if data.get("ok") is True:
            return data
        code_ = str(error or "unknown_error")[:100]
        reason = f"{method} at {where}: {code_}" + (f" ({HINTS[code_]})" if code_ in HINTS else "")
        if code_ in RETRYABLE_ERRORS:
            return RetryLater(reason, retry_after_seconds(answer.headers.get("retry-after")))
        return PermanentFailure(reason)


def build(config: Config, context: NotifyContext, receiver: str) -> WebhookNotifier | BotNotifier:
    if config.webhook_url is not None:
        return WebhookNotifier(config.webhook_url.get_secret_value(), context)
    assert config.bot_token is not None and config.channel  # the model's validator guarantees both
    return BotNotifier(config.bot_token.get_secret_value(), config.channel, config.api_url, context)
