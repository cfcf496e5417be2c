"""How exceptions become answers: OTLP errors, the database being away, a client that left."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from google.rpc import status_pb2
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import ClientDisconnect

from otelmon.otlp.decode import PROTOBUF
from otelmon.otlp.errors import OtlpError
from otelmon.storage.errors import DatabaseUnavailable, is_unavailable

log = logging.getLogger(__name__)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(OtlpError, _otlp_error)
    app.add_exception_handler(DatabaseUnavailable, _database_unavailable)
    app.add_exception_handler(SQLAlchemyError, _database_error)
    app.add_exception_handler(ClientDisconnect, _client_disconnected)


def _count(request: Request, status: int) -> None:
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is not None:
        runtime.metrics.ingest_requests.labels(str(status)).inc()


def _error_response(request: Request, status: int, message: str, headers: dict | None = None) -> Response:
    # OTLP/HTTP: an error body is a google.rpc.Status in the request's encoding.
    if request.headers.get("content-type", "").split(";")[0].strip().lower() == PROTOBUF:
        body = status_pb2.Status(code=status, message=message).SerializeToString()
        return Response(body, status_code=status, media_type=PROTOBUF, headers=headers)
    return JSONResponse({"code": status, "message": message}, status_code=status, headers=headers)


async def _otlp_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OtlpError)
    _count(request, exc.status_code)
    # A 503 (the parse budget is taken) is "retry later": the collector keeps the batch and retries it.
    headers = {"Retry-After": str(request.app.state.runtime.settings.retry_after_seconds)} \
        if exc.status_code == 503 else None
    return _error_response(request, exc.status_code, exc.message, headers=headers)


def _unavailable(request: Request) -> Response:
    # 503 + Retry-After is what makes the collector keep the batch and retry it; any other status
    # for a storage problem would drop data. Readers get the same promise: the same request will work later.
    runtime = request.app.state.runtime
    runtime.metrics.database_up.set(0)
    return _error_response(
        request,
        503,
        "database unavailable, retry later",
        headers={"Retry-After": str(runtime.settings.retry_after_seconds)},
    )


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    # Raised by the ingestor only: a write that was not committed.
    _count(request, 503)
    log.warning("answering 503: database unavailable")
    return _unavailable(request)


async def _database_error(request: Request, exc: Exception) -> Response:
    # Reads (and any other route that uses the database outside the ingestor) land here.
    assert isinstance(exc, SQLAlchemyError)
    if not is_unavailable(exc):
        raise exc
    log.warning("answering 503 to %s %s: database unavailable (%s)", request.method, request.url.path,
                exc.__class__.__name__)
    return _unavailable(request)


async def _client_disconnected(request: Request, exc: Exception) -> Response:
    # A client that closes mid-body is routine (a timeout on its side, a restart): one line, no traceback.
    # Nothing was stored, and nobody is left to read the answer.
    log.info("client disconnected before sending the whole body of %s %s", request.method, request.url.path)
    return Response(status_code=400)
