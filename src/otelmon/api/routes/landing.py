"""``GET /``: a person lands on the console; a tool asking for JSON learns what this service is."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from otelmon import __version__

router = APIRouter()


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "").lower()
    return "application/json" in accept and "text/html" not in accept


@router.get("/", include_in_schema=False)
async def landing(request: Request) -> Response:
    root = request.scope.get("root_path", "")
    if _wants_json(request):
        return JSONResponse({"name": "OtelMon API", "version": __version__, "console": f"{root}/console/",
                             "docs": f"{root}/docs", "openapi": f"{root}/openapi.json"})
    return RedirectResponse(f"{root}/console/", status_code=307)
