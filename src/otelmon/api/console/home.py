"""``/console/``: where the console opens: open issues, the last day's failures, alerts that need a person,
silences in effect, and the way to the API's docs and Grafana."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from otelmon.api.console.deps import PREFIX, Viewer, viewer
from otelmon.clock import utcnow
from otelmon.console.overview import NEEDS_ATTENTION, RECENT, read_overview

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/")
async def console_home(viewer: Viewer = Depends(viewer)) -> Response:
    runtime = viewer.runtime
    overview = await run_in_threadpool(read_overview, runtime.engine, runtime.tables, utcnow())
    return viewer.page("console/home.html.j2", title="OtelMon", nav="home", overview=overview,
                       recent_hours=int(RECENT.total_seconds() // 3600), attention=NEEDS_ATTENTION,
                       grafana_url=runtime.settings.grafana_url)
