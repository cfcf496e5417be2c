"""A Discord webhook stand-in: ``POST /api/webhooks/{webhook.id}/{webhook.token}`` ("Execute Webhook").

With ``?wait=true`` it answers 200 and the message object it created, without it 204. Errors are JSON
``{"message", "code"}`` as Discord's: 404 Unknown Webhook (10015), 401 Invalid Webhook Token (50027),
400 Invalid Form Body (50035) when an embed breaks a documented limit, 400 Cannot send an empty message
(50006); a 429 carries ``retry_after`` (seconds, fractional) and ``global`` and a ``Retry-After`` header.
"""

from __future__ import annotations

import itertools
from typing import Any
from urllib.parse import parse_qs

from tests.harness.vendor_server import Recorded, Reply, VendorServer

LIMITS = {"title": 256, "description": 4096, "fields": 25, "field_name": 256, "field_value": 1024,
          "footer": 2048, "total": 6000, "embeds": 10}


def error(status: int, message: str, code: int) -> Reply:
    return Reply(status, {"message": message, "code": code})


def rate_limited(retry_after: float, is_global: bool = False) -> Reply:
    return Reply(429, {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global},
                 headers={"Retry-After": str(max(1, round(retry_after)))})


def embed_problems(embed: dict[str, Any]) -> list[str]:
    """Which of Discord's embed limits ``embed`` breaks."""
    problems = []
    fields = embed.get("fields", [])
    texts = {"title": embed.get("title", ""), "description": embed.get("description", ""),
             "footer": embed.get("footer", {}).get("text", "")}
    problems += [f"{key} over {LIMITS[key]}" for key, text in texts.items() if len(text) > LIMITS[key]]
    if len(fields) > LIMITS["fields"]:
        problems.append("more than 25 fields")
    for number, field in enumerate(fields):
        if not field.get("name") or len(field["name"]) > LIMITS["field_name"]:
            problems.append(f"fields.{number}.name empty or over 256")
        if not field.get("value") or len(field["value"]) > LIMITS["field_value"]:
            problems.append(f"fields.{number}.value empty or over 1024")
    total = sum(len(text) for text in texts.values()) + sum(len(f.get("name", "")) + len(f.get("value", ""))
                                                            for f in fields)
    if total > LIMITS["total"]:
        problems.append(f"embed size {total} over 6000")
    return problems


class DiscordStandIn(VendorServer):
    def __init__(self, webhook_id: str, token: str) -> None:
        super().__init__(self._answer)
        self.webhook_id = webhook_id
        self.token = token
        self._ids = itertools.count(1_180_000_000_000_000_001)

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/api/webhooks/{self.webhook_id}/{self.token}"

    def _answer(self, request: Recorded) -> Reply:
        parts = request.path.strip("/").split("/")
        if request.method != "POST" or parts[:2] != ["api", "webhooks"] or len(parts) != 4:
            return error(404, "404: Not Found", 0)
        if parts[2] != self.webhook_id:
            return error(404, "Unknown Webhook", 10015)
        if parts[3] != self.token:
            return error(401, "Invalid Webhook Token", 50027)
        body = request.json()
        embeds = body.get("embeds") or []
        if not body.get("content") and not embeds:
            return error(400, "Cannot send an empty message", 50006)
        problems = [problem for embed in embeds for problem in embed_problems(embed)]
        if len(embeds) > LIMITS["embeds"] or problems:
            return Reply(400, {"message": "Invalid Form Body", "code": 50035, "errors": problems})
        if parse_qs(request.query).get("wait") != ["true"]:
            return Reply(204)
        message = {"id": str(next(self._ids)), "type": 0, "content": body.get("content", ""),
                   "channel_id": "1180000000000000000", "embeds": embeds, "webhook_id": self.webhook_id}
        return Reply(200, message)
