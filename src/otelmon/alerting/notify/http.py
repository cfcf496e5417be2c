"""One HTTP call to a vendor, classified into an ``Outcome`` the same way for every integration.

- 2xx: the caller decides (Slack and Telegram answer 200 with ``ok: false`` for some errors);
- 429: retry, after ``Retry-After`` when given (seconds or an HTTP date);
- 408, 425, 5xx, timeouts and connection errors: retry with delivery's backoff;
- any other 4xx (a deleted webhook answers 404 or 410, a bad token 401/403): permanent, at once.

Reasons name the host and the vendor's own error text, never the URL's path or query: for webhooks the
path is the secret.
"""

from __future__ import annotations

import email.utils
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import httpx

from otelmon.alerting.notify.base import Outcome, PermanentFailure, RetryLater

# Connect, write and pool waits are short; a vendor gets 10 s to answer. Delivery's lease is far longer.
TIMEOUT = httpx.Timeout(10.0, connect=5.0, pool=5.0)
# A vendor's answer is read up to this size: enough for any error body, bounded against a hostile server.
MAX_RESPONSE_BYTES = 64 * 1024
# Retry-After beyond this is treated as this: delivery's own backoff ceiling still applies on top.
MAX_RETRY_AFTER_SECONDS = 3600.0
REASON_CHARS = 300

# httpx logs every request's full URL at INFO and httpcore its connections at DEBUG: for a webhook the URL's
# path is the secret, and for Telegram the token is in it. Their own warnings still pass.
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)


def new_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False,
                             # Keep-alive for every connection in use: with fewer, seven channels sending eight
                             # at a time opened a new connection (a TLS handshake, against a vendor) per message.
                             limits=httpx.Limits(max_connections=100, max_keepalive_connections=100),
                             headers={"User-Agent": "OtelMon"})


@dataclass(frozen=True)
class Answer:
    status: int
    headers: httpx.Headers
    body: bytes

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def text(self, limit: int = REASON_CHARS) -> str:
        return " ".join(self.body[: limit * 4].decode("utf-8", "replace").split())[:limit]


def host_of(url: str) -> str:
    return urlsplit(url).hostname or "(no host)"


async def post(client: httpx.AsyncClient, url: str, *, json_body: Any = None, content: bytes | None = None,
               headers: dict[str, str] | None = None) -> Answer | Outcome:
    """POST and read the answer (bounded); a transport failure comes back as a ``RetryLater``."""
    where = host_of(url)
    try:
        request = client.build_request("POST", url, json=json_body, content=content, headers=headers)
        response = await client.send(request, stream=True)
        try:
            body = bytearray()
            # Decoded: a vendor or proxy may gzip its answer (the client asks for it), and a JSON check
            # on compressed bytes would take a delivered message for a failure.
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) >= MAX_RESPONSE_BYTES:
                    break
        finally:
            await response.aclose()
    except httpx.TimeoutException as exc:
        return RetryLater(f"timed out talking to {where} ({type(exc).__name__})")
    except httpx.InvalidURL:
        return PermanentFailure(f"not a valid URL for {where}")
    except httpx.UnsupportedProtocol:
        return PermanentFailure(f"unsupported URL scheme for {where}")
    except httpx.TransportError as exc:
        return RetryLater(f"could not reach {where} ({type(exc).__name__})")
    return Answer(response.status_code, response.headers, bytes(body[:MAX_RESPONSE_BYTES]))


def classify_error(answer: Answer, where: str, detail: str | None = None) -> Outcome | None:
    """The outcome of a non-2xx answer; None for 2xx (the caller looks at the body)."""
    status = answer.status
    if 200 <= status < 300:
        return None
    said = detail if detail is not None else answer.text()
    reason = f"HTTP {status} from {where}" + (f": {said}" if said else "")
    if status == 429:
        return RetryLater(reason, retry_after_seconds(answer.headers.get("retry-after")))
    if status in (408, 425) or status >= 500:
        return RetryLater(reason, retry_after_seconds(answer.headers.get("retry-after")) if status == 503 else None)
    return PermanentFailure(reason)


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """``Retry-After`` as seconds from now (RFC 9110: delay-seconds or an HTTP date); None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)
