"""The FastAPI application: ``create_app()`` wires routers, error handlers and the runtime."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from google.rpc import status_pb2
from starlette.concurrency import run_in_threadpool

from otelmon import __version__
from otelmon.alerting.worker import AlertWorker
from otelmon.api.routes import alerts, failures, health, otlp
from otelmon.api.runtime import Runtime
from otelmon.config import Settings, get_settings
from otelmon.otlp.decode import PROTOBUF
from otelmon.otlp.errors import OtlpError
from otelmon.storage.errors import DatabaseUnavailable

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await run_in_threadpool(Runtime.start, settings)
        app.state.runtime = runtime
        worker = None
        if settings.alerts_enabled:
            worker = AlertWorker(runtime.engine, runtime.tables, settings, runtime.metrics)
            worker.start()
        app.state.alert_worker = worker
        try:
            yield
        finally:
            if worker is not None:
                await worker.stop()
            await run_in_threadpool(runtime.close)

    app = FastAPI(
        title="OtelMon API",
        version=__version__,
        summary="Stores failed pipeline spans and reports them",
        lifespan=lifespan,
    )
    app.include_router(otlp.router)
    app.include_router(failures.router)
    app.include_router(alerts.router)
    app.include_router(health.router)
    app.add_exception_handler(OtlpError, _otlp_error)
    app.add_exception_handler(DatabaseUnavailable, _database_unavailable)
    return app


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
    return _error_response(request, exc.status_code, exc.message)


async def _database_unavailable(request: Request, exc: Exception) -> Response:
    # 503 + Retry-After is what makes the collector keep the batch and retry it; any other status
    # for a storage problem would drop data.
    runtime = request.app.state.runtime
    runtime.metrics.database_up.set(0)
    _count(request, 503)
    log.warning("answering 503: database unavailable")
    return _error_response(
        request,
        503,
        "database unavailable, retry later",
        headers={"Retry-After": str(runtime.settings.retry_after_seconds)},
    )
