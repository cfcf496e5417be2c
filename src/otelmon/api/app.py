"""The FastAPI application: ``create_app()`` wires routers, error handlers and the runtime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from otelmon import __version__
from otelmon.alerting.worker import AlertWorker
from otelmon.api.console import install_console
from otelmon.api.docs import install_docs
from otelmon.api.errors import install_error_handlers
from otelmon.api.responses import PROTECTED
from otelmon.api.routes import (
    actions,
    alertmanager,
    alerts,
    failures,
    health,
    issues,
    landing,
    otlp,
    receivers,
    silences,
)
from otelmon.api.runtime import Runtime
from otelmon.config import Settings, get_settings
from otelmon.storage.retention import Pruner


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await run_in_threadpool(Runtime.start, settings)
        app.state.runtime = runtime
        worker = None
        if settings.alerts_enabled:
            worker = AlertWorker(runtime.engine, runtime.tables, settings, runtime.metrics, runtime.router)
            worker.start()
        app.state.alert_worker = worker
        pruner = None
        if settings.retention_days > 0:
            pruner = Pruner(runtime.engine, runtime.tables, settings.retention_days,
                            settings.retention_interval_seconds)
            pruner.start()
        try:
            yield
        finally:
            if pruner is not None:
                await pruner.stop()
            if worker is not None:
                await worker.stop()
            await run_in_threadpool(runtime.close)

    app = FastAPI(
        title="OtelMon API",
        version=__version__,
        summary="Stores failed pipeline spans and reports them",
        lifespan=lifespan,
        docs_url=None,  # served by install_docs, with local assets
        redoc_url=None,
    )
    app.include_router(landing.router)
    app.include_router(otlp.router, responses=PROTECTED)
    app.include_router(failures.router, responses=PROTECTED)
    app.include_router(alertmanager.router, responses=PROTECTED)
    app.include_router(issues.router, responses=PROTECTED)
    app.include_router(alerts.router, responses=PROTECTED)
    app.include_router(receivers.router, responses=PROTECTED)
    app.include_router(silences.router, responses=PROTECTED)
    app.include_router(actions.router)
    app.include_router(health.router)
    install_console(app)
    install_docs(app)
    install_error_handlers(app)
    return app
