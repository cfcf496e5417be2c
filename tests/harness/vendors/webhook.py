"""A loopback receiver written for Alertmanager's webhook (version 4), as such receivers are: it takes a POST at
its one secret path, decodes the body with the field set of Alertmanager v0.28.1's Go structs (the JSON schema in
tests/alerting/notify/schemas/, which records the commit read), checks ``X-OtelMon-Signature`` when it shares a
secret, and answers 200 with an empty body.

Faults as real receivers answer them: a wrong path is a 404 whose page quotes the path (Express's
"Cannot POST /path"), a bad signature a 401, a body that does not decode a 400.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import jsonschema

from tests.harness.vendor_server import Recorded, Reply, VendorServer

SCHEMA_FILE = Path(__file__).parents[2] / "alerting" / "notify" / "schemas" / "alertmanager-webhook-v4.schema.json"
SCHEMA: dict[str, Any] = json.loads(SCHEMA_FILE.read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """How a receiver checks the signature: HMAC-SHA256 of the exact bytes, compared in constant time."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return header is not None and hmac.compare_digest(expected, header)


class AlertmanagerReceiver(VendorServer):
    """Every accepted message is in ``messages`` (decoded), in order."""

    def __init__(self, path: str = "/hooks/0f8e7d6c5b4a39281706f5e4d3c2b1a0", secret: str | None = None) -> None:
        super().__init__(self._answer)
        self.path = path
        self.secret = secret
        self.messages: list[dict[str, Any]] = []

    @property
    def hook_url(self) -> str:
        return self.url + self.path

    def _answer(self, request: Recorded) -> Reply:
        if request.method != "POST" or request.path != self.path:
            return Reply(404, f"Cannot {request.method} {request.path}", {"content-type": "text/html"})
        if self.secret is not None and not signature_ok(self.secret, request.body,
                                                        request.headers.get("x-otelmon-signature")):
            return Reply(401, {"error": "bad signature"})
        if not request.headers.get("content-type", "").startswith("application/json"):
            return Reply(415, {"error": "expected application/json"})
        try:
            message = request.json()
        except ValueError:
            return Reply(400, {"error": "not JSON"})
        problems = [f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
                    for error in VALIDATOR.iter_errors(message)]
        if problems:
            return Reply(400, {"error": "; ".join(problems)[:500]})
        self.messages.append(message)
        return Reply(200)
