"""Action tokens: ``<payload>.<signature>``, both base64url without padding (safe in a URL path). The payload
is compact JSON (action, fingerprint, expiry in Unix seconds); the signature is HMAC-SHA256 of the encoded
payload with a key derived from the installation's secret key. The token itself is the capability: whoever
holds it may do that one action, to that one fingerprint, until it expires."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Literal

MUTE, ACK = "mute24h", "ack"
Action = Literal["mute24h", "ack"]
ACTIONS = (MUTE, ACK)
MUTE_FOR = timedelta(hours=24)
MAX_TOKEN_CHARS = 512
_FINGERPRINT = re.compile(r"[0-9a-f]{16}")
# Derived, so the secret key signs nothing else under the same key should it ever sign more.
_PURPOSE = b"otelmon action link v1"


class InvalidToken(ValueError):
    """Malformed, or its signature does not match (tampered with, or signed with another key)."""


class ExpiredToken(ValueError):
    """Signed by us, but past its expiry."""


@dataclass(frozen=True)
class ActionRequest:
    action: Action
    fingerprint: str
    expires_at: datetime  # naive UTC

    @property
    def key(self) -> str:
        """What a silence made by this link records (silences.action_key): the link acts once."""
        return hashlib.sha256(f"{self.action}|{self.fingerprint}|{self.expires_at.isoformat()}".encode()).hexdigest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: bytes, payload: str) -> bytes:
    key = hmac.new(secret, _PURPOSE, hashlib.sha256).digest()
    return hmac.new(key, payload.encode(), hashlib.sha256).digest()


def sign(secret: bytes, action: Action, fingerprint: str, expires_at: datetime) -> str:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    epoch = int(expires_at.replace(tzinfo=timezone.utc).timestamp())
    payload = _b64(json.dumps({"a": action, "f": fingerprint, "e": epoch}, separators=(",", ":")).encode())
    return f"{payload}.{_b64(_signature(secret, payload))}"


def verify(secret: bytes, token: str, now: datetime) -> ActionRequest:
    """The request a token carries. InvalidToken when it is not one of ours, unchanged; ExpiredToken when it
    is, but its time is over (checked after the signature: a forged expiry is invalid, not expired)."""
    payload, sep, signature = token.partition(".")
    if not sep or len(token) > MAX_TOKEN_CHARS:
        raise InvalidToken("not an action link")
    try:
        given = _unb64(signature)
    except ValueError:
        raise InvalidToken("not an action link") from None
    if not hmac.compare_digest(given, _signature(secret, payload)):
        raise InvalidToken("the link's signature does not match: it was changed, or is not from this OtelMon")
    try:
        data = json.loads(_unb64(payload))
        action, fingerprint, epoch = data["a"], data["f"], int(data["e"])
    except (ValueError, KeyError, TypeError):
        raise InvalidToken("not an action link") from None
    if action not in ACTIONS or not isinstance(fingerprint, str) or not _FINGERPRINT.fullmatch(fingerprint):
        raise InvalidToken("not an action link")
    expires_at = datetime.fromtimestamp(epoch, timezone.utc).replace(tzinfo=None)
    if expires_at <= now:
        raise ExpiredToken(f"this link expired on {expires_at:%Y-%m-%d %H:%M} UTC")
    return ActionRequest(action, fingerprint, expires_at)
