"""A Slack stand-in: incoming webhooks and the Web API's ``chat.postMessage`` / ``chat.update``, as documented
(api.slack.com/messaging/webhooks, api.slack.com/methods/chat.postMessage, .../chat.update).

- Webhook ``POST /services/T…/B…/<secret>``: 200 with the text body ``ok``; errors are a status and a text
  code: 400 ``invalid_payload`` / ``no_text`` / ``invalid_blocks``, 403 ``action_prohibited``, 404
  ``no_service`` (unknown or removed webhook), 410 ``channel_is_archived``.
- Web API ``POST /api/<method>`` with ``Authorization: Bearer <token>`` and a JSON body: always HTTP 200 with
  ``{"ok": true, ...}`` or ``{"ok": false, "error": "<code>"}`` (``not_authed``, ``invalid_auth``,
  ``channel_not_found``, ``not_in_channel``, ``msg_too_long``, ``invalid_blocks``, ``no_text``,
  ``message_not_found``). ``chat.postMessage`` answers the channel's id and the message's ``ts``; ``chat.update``
  needs the channel's id and an existing ``ts``.

Blocks are checked the way Slack refuses them: parsed and validated by ``slack_sdk``'s own models, at most 50.
Faults (429 + Retry-After, 500, ``ratelimited``, a slow answer) are scripted with ``VendorServer.script``.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

from tests.harness.vendor_server import Recorded, Reply, VendorServer

MAX_BLOCKS = 50
TEXT_LIMIT = 40_000
FIELD_LIMIT = 2000
WEBHOOK_PATH = "/services/T0001/B0001/Zq8secretXyz"
TOKEN = "xoxb-1111-2222-Zq8secretTok"


def api_error(code: str, **extra: Any) -> Reply:
    return Reply(200, {"ok": False, "error": code, **extra})


def blocks_problem(blocks: Any) -> str | None:
    """Why Slack would answer ``invalid_blocks`` for ``blocks``, or None."""
    if blocks is None:
        return None
    if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
        return "not a list of at most 50 blocks"
    for raw in blocks:
        try:
            block = Block.parse(raw)
            if block is None:
                return f"unknown block {raw!r:.80}"
            block.to_dict()  # runs slack_sdk's validators (header 150, section 3000, 10 fields, ...)
        except (SlackObjectFormationError, KeyError, TypeError) as exc:
            return str(exc)
        for text in raw.get("fields") or []:
            if len(text.get("text", "")) > FIELD_LIMIT:
                return "section field over 2000 characters"
    return None


@dataclass
class Slack:
    """One workspace: a webhook, a bot token and its channels (name -> id); ``joined`` are the channel ids
    the bot was invited to."""

    channels: dict[str, str] = field(default_factory=lambda: {"#alerts": "C0ALERTS", "#other": "C0OTHER"})
    joined: set[str] = field(default_factory=lambda: {"C0ALERTS"})
    archived: bool = False
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (channel id, ts) -> message
    server: VendorServer = field(init=False)

    def __post_init__(self) -> None:
        self._ts = (f"1764581400.{n:06d}" for n in itertools.count(100))
        self.server = VendorServer(self.handle)

    @property
    def webhook_url(self) -> str:
        return self.server.url + WEBHOOK_PATH

    @property
    def api_url(self) -> str:
        return self.server.url + "/api"

    def calls(self, path: str) -> list[Recorded]:
        return [request for request in self.server.requests if request.path == path]

    def handle(self, request: Recorded) -> Reply:
        if request.path.startswith("/services/"):
            return self._webhook(request)
        if request.path.startswith("/api/"):
            return self._api(request.path.removeprefix("/api/"), request)
        return Reply(404, "not found")

    def _webhook(self, request: Recorded) -> Reply:
        if request.method != "POST" or request.path != WEBHOOK_PATH:
            return Reply(404, "no_service")
        if self.archived:
            return Reply(410, "channel_is_archived")
        try:
            body = request.json()
        except ValueError:
            return Reply(400, "invalid_payload")
        if not isinstance(body, dict):
            return Reply(400, "invalid_payload")
        if not body.get("text") and not body.get("blocks"):
            return Reply(400, "no_text")
        if blocks_problem(body.get("blocks")):
            return Reply(400, "invalid_blocks")
        return Reply(200, "ok", {"content-type": "text/html"})

    def _api(self, method: str, request: Recorded) -> Reply:
        authorization = request.headers.get("authorization", "")
        if not authorization.startswith("Bearer "):
            return api_error("not_authed")
        if authorization.removeprefix("Bearer ") != TOKEN:
            return api_error("invalid_auth")
        if not request.headers.get("content-type", "").startswith("application/json"):
            return api_error("invalid_arguments")
        try:
            body = json.loads(request.body)
        except ValueError:
            return api_error("invalid_json")
        if method == "chat.postMessage":
            return self._post_message(body)
        if method == "chat.update":
            return self._update(body)
        return api_error("unknown_method")

    def _channel_id(self, channel: Any) -> str | None:
        if channel in self.channels.values():
            return channel
        return self.channels.get(channel)

    def _checked(self, body: dict[str, Any]) -> Reply | None:
        if not body.get("text") and not body.get("blocks"):
            return api_error("no_text")
        if len(body.get("text") or "") > TEXT_LIMIT:
            return api_error("msg_too_long")
        if blocks_problem(body.get("blocks")):
            return api_error("invalid_blocks")
        return None

    def _post_message(self, body: dict[str, Any]) -> Reply:
        channel = self._channel_id(body.get("channel"))
        if channel is None:
            return api_error("channel_not_found")
        if channel not in self.joined:
            return api_error("not_in_channel")
        refused = self._checked(body)
        if refused:
            return refused
        ts = next(self._ts)
        message = {"type": "message", "text": body.get("text"), "blocks": body.get("blocks"), "ts": ts}
        if body.get("thread_ts"):
            message["thread_ts"] = body["thread_ts"]
        self.messages[(channel, ts)] = message
        return Reply(200, {"ok": True, "channel": channel, "ts": ts, "message": message})

    def _update(self, body: dict[str, Any]) -> Reply:
        channel, ts = body.get("channel"), body.get("ts")
        if channel not in self.channels.values():  # chat.update takes a channel id, not a name
            return api_error("channel_not_found")
        if (channel, ts) not in self.messages:
            return api_error("message_not_found")
        refused = self._checked(body)
        if refused:
            return refused
        message = self.messages[(channel, ts)]
        message.update(text=body.get("text"), blocks=body.get("blocks"), edited=True)
        return Reply(200, {"ok": True, "channel": channel, "ts": ts, "text": body.get("text"), "message": message})

    def __enter__(self) -> Slack:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()
