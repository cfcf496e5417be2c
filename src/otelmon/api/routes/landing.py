"""``GET /``: what this service is, and where its documentation is (a page for people, JSON for tools)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from otelmon import __version__
from otelmon.api.deps import get_runtime
from otelmon.api.runtime import Runtime
from otelmon.email.render import environment

router = APIRouter()


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "").lower()
    return "application/json" in accept and "text/html" not in accept


@router.get("/", include_in_schema=False)
async def landing(request: Request, runtime: Runtime = Depends(get_runtime)) -> Response:
    root = request.scope.get("root_path", "")
    if _wants_json(request):
        return JSONResponse({"name": "OtelMon API", "version": __version__, "docs": f"{root}/docs",
                             "openapi": f"{root}/openapi.json"})
    page = environment().get_template("landing.html.j2").render(
        version=__version__, root=root, token_required=runtime.settings.ingest_token is not None
    )
    return HTMLResponse(page)
