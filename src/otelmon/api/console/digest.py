"""``/console/digest``: what the next digest would contain, by the digest's own selection and composition
(``otelmon digest --dry-run``); reading it changes nothing. Its HTML is served alone, sandboxed, for a frame."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from otelmon.api.console.deps import PREFIX, Viewer, viewer
from otelmon.digest.preview import next_digest

router = APIRouter(prefix=PREFIX, include_in_schema=False)

# The email's HTML is a document of its own, with inline styles (as mail clients need): framed by the console
# only, without scripts, forms, plugins or any request out (sandbox: a unique origin, no cookies either).
PREVIEW_HEADERS = {
    "Content-Security-Policy": "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:",
    "X-Frame-Options": "SAMEORIGIN",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


async def _next(viewer: Viewer):
    runtime = viewer.runtime
    return await run_in_threadpool(next_digest, runtime.engine, runtime.settings)


@router.get("/digest")
async def digest_page(viewer: Viewer = Depends(viewer)) -> Response:
    return viewer.page("console/digest.html.j2", title="Next digest", nav="digest", digest=await _next(viewer))


@router.get("/digest/preview.html")
async def digest_preview_html(viewer: Viewer = Depends(viewer)) -> Response:
    html = (await _next(viewer)).html
    if html is None:
        html, status = "<!DOCTYPE html><p>No new failures: the next digest would not be sent.</p>", 404
    else:
        status = 200
    response = HTMLResponse(html, status_code=status, headers=PREVIEW_HEADERS)
    viewer.remember(response)
    return response
