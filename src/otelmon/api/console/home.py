"""``/console/``: where the console opens (the issues, most recently failing first)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from otelmon.api.console.deps import PREFIX, Viewer, viewer

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/")
async def console_home(viewer: Viewer = Depends(viewer)) -> Response:
    return viewer.page("console/home.html.j2", title="OtelMon", nav="home")
