"""FastAPI dependencies: the runtime, the ingest token, size-limited bodies."""

from __future__ import annotations

import asyncio
import hmac
from typing import TypeVar
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ValidationError

from otelmon.api.runtime import Runtime
from otelmon.otlp.errors import MalformedPayload, PayloadTooLarge, RequestTimeout

# A stalled body is dropped (408) rather than holding its connection, and a place under uvicorn's
# --limit-concurrency, for ever; the total bounds a client that trickles a byte at a time.
BODY_IDLE_TIMEOUT_SECONDS = 10.0
BODY_TOTAL_TIMEOUT_SECONDS = 120.0


async def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def wake_alerts(request: Request) -> None:
    worker = getattr(request.app.state, "alert_worker", None)
    if worker is not None:
        worker.wake()


def wake_sender(request: Request) -> None:
    """An alert was made due now (resent): the sender looks at once instead of at its next poll."""
    worker = getattr(request.app.state, "alert_worker", None)
    if worker is not None:
        worker.sender.wake()


# Declared in OpenAPI (the Authorize button of /docs); the check itself is ours, since a token is optional.
_bearer = HTTPBearer(auto_error=False, description="OTELMON_INGEST_TOKEN; required only when it is set")


async def require_token(
    request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
) -> None:
    """Bearer token check, when ``OTELMON_INGEST_TOKEN`` is set; compared in constant time."""
    token = request.app.state.runtime.settings.ingest_token
    expected = token.get_secret_value() if token is not None else ""
    if not expected:
        return
    supplied = credentials.credentials.strip() if credentials is not None else ""
    if not hmac.compare_digest(supplied.encode(), expected.encode()):
        raise HTTPException(401, "missing or wrong bearer token", headers={"WWW-Authenticate": "Bearer"})


Model = TypeVar("Model", bound=BaseModel)


async def read_model(request: Request, runtime: Runtime, model: type[Model], limit: int) -> Model | JSONResponse:
    """A JSON body of at most ``limit`` bytes as ``model``; when it is not one, the 422 answer to return, naming
    each field (counted as a refused ingest request), without echoing the input."""
    body = await read_body(request, limit)
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        runtime.metrics.ingest_requests.labels("422").inc()
        detail = exc.errors(include_url=False, include_context=False, include_input=False)
        return JSONResponse({"detail": detail}, status_code=422)


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing to buffer more than ``limit`` bytes whatever Content-Length claims."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise PayloadTooLarge(f"body of {declared} bytes exceeds the limit of {limit} bytes")
        except ValueError:
            raise MalformedPayload("invalid Content-Length") from None
    chunks: list[bytes] = []
    size = 0
    stream = request.stream()
    deadline = asyncio.get_running_loop().time() + BODY_TOTAL_TIMEOUT_SECONDS
    while True:
        wait = min(BODY_IDLE_TIMEOUT_SECONDS, deadline - asyncio.get_running_loop().time())
        try:
            chunk = await asyncio.wait_for(anext(stream), max(wait, 0))
        except StopAsyncIteration:
            break
        except asyncio.TimeoutError:
            raise RequestTimeout("request body not received in time") from None
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def cross_site(request: Request, public_url: str) -> bool:
    """A form post that the browser says comes from another site: ``Sec-Fetch-Site: cross-site``, or an
    ``Origin`` that is neither the public URL nor the address the request was made to. A missing Origin is
    allowed (not every client sends one for a same-origin form; Sec-Fetch-Site covers current browsers)."""
    if request.headers.get("sec-fetch-site", "").lower() == "cross-site":
        return True
    origin = request.headers.get("origin")
    if origin is None:
        return False
    return origin.lower() not in {_origin(public_url), _origin(str(request.base_url))}
