"""A Telegram Bot API stand-in: ``POST /bot<token>/sendMessage`` as documented (core.telegram.org/bots/api).

Every answer is ``{"ok": true, "result": Message}`` or ``{"ok": false, "error_code": <the HTTP status>,
"description": ..., "parameters"?: {"retry_after" | "migrate_to_chat_id"}}``. Like the real API it rejects
what Telegram would: an unknown token (401), an unknown chat (400), HTML it cannot parse, a text over 4096
characters after entity parsing.
"""

from __future__ import annotations

import html
import itertools
import re
from typing import Any

from tests.harness.vendor_server import Recorded, Reply, VendorServer

TEXT_LIMIT = 4096
# The tags of Telegram's HTML style that OtelMon may use; entities are the named four and numeric ones.
TAG = re.compile(r'<(/?)(b|i|u|s|code|pre|a)((?: href="[^"<>]*")?)>')
ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")


def failure(status: int, description: str, **parameters: Any) -> Reply:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return Reply(status, body)


def visible_text(text: str) -> str:
    """The text Telegram shows for ``text`` in HTML parse mode; ValueError when Telegram would refuse it
    ("can't parse entities"): an unsupported or unbalanced tag, a bare ``<``, ``>`` or ``&``."""
    stack: list[str] = []
    plain, position = [], 0
    for match in TAG.finditer(text):
        plain.append(text[position:match.start()])
        position = match.end()
        closing, name, attributes = match.groups()
        if closing:
            if not stack or stack.pop() != name or attributes:
                raise ValueError(f"unexpected end tag </{name}> at {match.start()}")
        else:
            if (name == "a") != bool(attributes):
                raise ValueError(f"bad attributes on <{name}> at {match.start()}")
            stack.append(name)
    plain.append(text[position:])
    if stack:
        raise ValueError(f"unclosed tags {stack}")
    joined = "".join(plain)
    if "<" in joined or ">" in joined:
        raise ValueError("a bare < or > outside a supported tag")
    if ENTITY.sub("", joined).count("&"):
        raise ValueError("a bare & that is no entity")
    return html.unescape(joined)


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
