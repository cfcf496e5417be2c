"""A Microsoft Teams Workflows stand-in: the "When a Teams webhook request is received" trigger of a Power
Automate flow, as documented (learn.microsoft.com: "Create incoming webhooks with Workflows for Microsoft
Teams", the Teams connector's known limits).

- ``POST /powerautomate/automations/direct/workflows/<flow id>/triggers/manual/paths/invoke`` with the query
  ``api-version=1&sp=/triggers/manual/run&sv=1.0&sig=<signature>``: the signature authorises the call.
- Body ``{"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
  "contentUrl": null, "content": <AdaptiveCard>}]}``; answered 202 Accepted with an empty body (the flow runs
  on its own afterwards).
- Errors are JSON ``{"error": {"code", "message"}}``: 404 ``WorkflowNotFound`` (deleted flow or wrong id),
  401 ``DirectApiAuthorizationRequired`` / ``DirectApiInvalidAuthorizationSignature`` (missing or wrong
  ``sig``), 400 ``InvalidRequestContent`` (not JSON) or ``TriggerInputSchemaMismatch`` (not the message
  shape), 413 ``RequestEntityTooLarge`` over about 28 KB. Faults (429, 5xx, slow) come from ``script``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from tests.harness.vendor_server import Recorded, Reply, VendorServer

FLOW_ID = "3f2a9c1e0b7d4e5fa6c8d9e0f1a2b3c4"
SIGNATURE = "Zq8sigSecretAbCdEfGhIjKlMnOpQrStUvWxYz0123"
PATH = f"/powerautomate/automations/direct/workflows/{FLOW_ID}/triggers/manual/paths/invoke"
QUERY = f"api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={SIGNATURE}"
SIZE_LIMIT = 28 * 1024
CARD = "application/vnd.microsoft.card.adaptive"


def error(status: int, code: str, message: str) -> Reply:
    return Reply(status, {"error": {"code": code, "message": message}})


@dataclass
class Workflows:
    cards: list[dict[str, Any]] = field(default_factory=list)  # every card a flow accepted, in order
    server: VendorServer = field(init=False)

    def __post_init__(self) -> None:
        self.server = VendorServer(self.handle)

    @property
    def webhook_url(self) -> str:
        return f"{self.server.url}{PATH}?{QUERY}"

    def handle(self, request: Recorded) -> Reply:
        if request.method != "POST" or request.path != PATH:
            return error(404, "WorkflowNotFound", "The workflow could not be found.")
        signature = parse_qs(request.query).get("sig")
        if not signature:
            return error(401, "DirectApiAuthorizationRequired", "The request must be authenticated.")
        if signature != [SIGNATURE]:
            return error(401, "DirectApiInvalidAuthorizationSignature", "The provided signature is not valid.")
        if len(request.body) > SIZE_LIMIT:
            return error(413, "RequestEntityTooLarge", "The request entity is too large.")
        if not request.headers.get("content-type", "").startswith("application/json"):
            return error(400, "InvalidRequestContent", "The request content is not valid JSON.")
        try:
            body = request.json()
        except ValueError:
            return error(400, "InvalidRequestContent", "The request content is not valid JSON.")
        card = self._card(body)
        if card is None:
            return error(400, "TriggerInputSchemaMismatch", "The input body does not match the trigger's schema.")
        self.cards.append(card)
        return Reply(202, None, {"x-ms-workflow-run-id": f"08584{len(self.cards):013d}"})

    @staticmethod
    def _card(body: Any) -> dict[str, Any] | None:
        if not isinstance(body, dict) or body.get("type") != "message":
            return None
        attachments = body.get("attachments")
        if not isinstance(attachments, list) or not attachments:
            return None
        first = attachments[0]
        if not isinstance(first, dict) or first.get("contentType") != CARD or "contentUrl" not in first:
            return None
        content = first.get("content")
        if not isinstance(content, dict) or content.get("type") != "AdaptiveCard":
            return None
        return content

    def __enter__(self) -> Workflows:
        self.server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

