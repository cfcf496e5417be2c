"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from otelmon.alerting.delivery import backlog
from otelmon.alerting.routing import routing_warnings
from otelmon.api.deps import get_runtime
from otelmon.api.runtime import Runtime

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _ping(runtime: Runtime) -> None:
    with runtime.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


@router.get(
    "/readyz",
    summary="The database is reachable (and, in the body, what configuration lacks)",
    responses={503: {"description": "it is not"}},
)
async def readyz(runtime: Runtime = Depends(get_runtime)) -> JSONResponse:
    try:
        await run_in_threadpool(_ping, runtime)
    except SQLAlchemyError as exc:
        runtime.metrics.database_up.set(0)
        return JSONResponse({"status": "unavailable", "reason": exc.__class__.__name__}, status_code=503)
    runtime.metrics.database_up.set(1)
    # Still ready: readiness is about the database; a missing recipient is the operator's to fix.
    warnings = routing_warnings(runtime.settings)
    return JSONResponse({"status": "ready", **({"warnings": warnings} if warnings else {})})


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(runtime: Runtime = Depends(get_runtime)) -> Response:
    # Counted at scrape time (two indexed COUNTs every scrape interval): exact, and costs nothing between scrapes.
    try:
        runtime.metrics.outbox_backlog.set(await run_in_threadpool(backlog, runtime.engine, runtime.tables))
    except SQLAlchemyError:
        runtime.metrics.database_up.set(0)  # the last value stays; database_up says why it is stale
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)
