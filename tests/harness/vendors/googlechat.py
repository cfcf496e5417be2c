"""A Google Chat incoming-webhook stand-in: ``POST /v1/spaces/{space}/messages?key=...&token=...``.

Success is the created Message (``name`` spaces/S/messages/M, ``thread.name``); errors are Google's
``{"error": {"code", "message", "status"}}``. Like Chat it puts a message with ``thread.threadKey`` into that
key's thread only when ``messageReplyOption`` asks for a reply, refuses a message over 32,000 bytes, a card
over 100 widgets, and card text outside Chat's HTML subset.
"""

from __future__ import annotations

import itertools
from typing import Any
from urllib.parse import parse_qs, unquote

from tests.harness.vendor_server import Recorded, Reply, VendorServer
from tests.harness.vendors import markup

MESSAGE_BYTES = 32_000
WIDGETS = 100
# Card text formatting (developers.google.com/workspace/chat/format-messages): b, i, u, s, font color, a, br.
TAGS = ("b", "i", "u", "s", "font", "a")
REPLY_OPTIONS = ("REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD", "REPLY_MESSAGE_OR_FAIL")


def error(status: int, grpc_status: str, message: str) -> Reply:
    return Reply(status, {"error": {"code": status, "message": message, "status": grpc_status}})


def card_text(text: str) -> str:
    """What Chat shows for a card's formatted ``text``; ValueError outside the supported subset."""
    return markup.visible_text(text, TAGS, void=("br",), newline="br")


def formatted_texts(card: dict[str, Any]) -> list[str]:
    """Every text of ``card`` that Chat reads as HTML: section headers, paragraphs, decorated texts."""
    texts = []
    for section in card.get("sections", []):
        texts += [section["header"]] if "header" in section else []
        for widget in section["widgets"]:
            for kind in ("textParagraph", "decoratedText"):
                if kind in widget:
                    texts.append(widget[kind]["text"])
    return texts


class GoogleChatStandIn(VendorServer):
    def __init__(self, space: str, key: str, token: str) -> None:
        super().__init__(self._answer)
        self.space, self.key, self.token = space, key, token
        self.threads: dict[str, str] = {}
        self._ids = itertools.count(1)

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/v1/spaces/{self.space}/messages?key={self.key}&token={self.token}"

    def _answer(self, request: Recorded) -> Reply:
        query = parse_qs(request.query)
        if request.method != "POST" or request.path != f"/v1/spaces/{self.space}/messages":
            return error(404, "NOT_FOUND", "Requested entity was not found.")
        if query.get("key") != [self.key]:
            return error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.")
        if query.get("token") != [unquote(self.token)]:
            return error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
        if len(request.body) > MESSAGE_BYTES:
            return error(400, "INVALID_ARGUMENT", "Message too large.")
        body = request.json()
        cards = body.get("cardsV2") or []
        if not body.get("text") and not cards:
            return error(400, "INVALID_ARGUMENT", "Message cannot be empty.")
        for card in (entry["card"] for entry in cards):
            if not card.get("header", {}).get("title") or sum(len(s["widgets"]) for s in card["sections"]) > WIDGETS:
                return error(400, "INVALID_ARGUMENT", "Invalid card.")
            try:
                for text in formatted_texts(card):
                    card_text(text)
            except ValueError as exc:
                return error(400, "INVALID_ARGUMENT", f"Invalid card text: {exc}")
        number = next(self._ids)
        key = (body.get("thread") or {}).get("threadKey")
        if key and query.get("messageReplyOption", [""])[0] in REPLY_OPTIONS:
            thread = self.threads.setdefault(key, f"spaces/{self.space}/threads/t{number}")
        else:
            thread = f"spaces/{self.space}/threads/t{number}"
        message = {"name": f"spaces/{self.space}/messages/m{number}.m{number}", "sender": {"type": "BOT"},
                   "createTime": "2026-12-01T09:30:01.000000Z", "cardsV2": cards,
                   "thread": {"name": thread, **({"threadKey": key} if key else {})},
                   "space": {"name": f"spaces/{self.space}", "type": "ROOM"}}
        return Reply(200, message)
