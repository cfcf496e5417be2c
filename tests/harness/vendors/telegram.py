"""A Telegram Bot API stand-in: ``POST /bot<token>/sendMessage`` as documented (core.telegram.org/bots/api).

Every answer is ``{"ok": true, "result": Message}`` or ``{"ok": false, "error_code": <the HTTP status>,
"description": ..., "parameters"?: {"retry_after" | "migrate_to_chat_id"}}``. Like the real API it rejects
what Telegram would: an unknown token (401), an unknown chat (400), HTML it cannot parse, a text over 4096
characters after entity parsing.
"""

from __future__ import annotations

import itertools
from typing import Any

from tests.harness.vendor_server import Recorded, Reply, VendorServer
from tests.harness.vendors import markup

TEXT_LIMIT = 4096
# The tags of Telegram's HTML style that OtelMon may use.
TAGS = ("b", "i", "u", "s", "code", "pre", "a")


def failure(status: int, description: str, **parameters: Any) -> Reply:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return Reply(status, body)


def visible_text(text: str) -> str:
    """The text Telegram shows for ``text`` in HTML parse mode; ValueError when Telegram would refuse it
    ("can't parse entities")."""
    return markup.visible_text(text, TAGS)


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class TelegramStandIn(VendorServer):
    def __init__(self, token: str, chats: tuple[str, ...] = ("-1001234",)) -> None:
        super().__init__(self._answer)
        self.token = token
        self.chats = chats
        self._ids = itertools.count(1)

    def _answer(self, request: Recorded) -> Reply:
        if request.method != "POST" or request.path.rpartition("/")[2] != "sendMessage":
            return failure(404, "Not Found")
        if request.path != f"/bot{self.token}/sendMessage":
            return failure(401, "Unauthorized")
        body = request.json()
        if str(body.get("chat_id")) not in self.chats:
            return failure(400, "Bad Request: chat not found")
        if body.get("parse_mode") != "HTML":
            return failure(400, "Bad Request: this stand-in only speaks parse_mode HTML")
        try:
            text = visible_text(body.get("text", ""))
        except ValueError as exc:
            return failure(400, f"Bad Request: can't parse entities: {exc}")
        if not text.strip():
            return failure(400, "Bad Request: message text is empty")
        if utf16_units(text) > TEXT_LIMIT:
            return failure(400, "Bad Request: message is too long")
        message = {"message_id": next(self._ids), "date": 1764581400,
                   "chat": {"id": int(body["chat_id"]), "type": "supergroup"}, "text": text}
        return Reply(200, {"ok": True, "result": message})
