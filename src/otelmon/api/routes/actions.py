"""``/actions/{token}``: the signed links in alerts. GET shows what the link would do and a button; only the
button's POST acts (mail scanners open every link in an email). No login: the token is the capability.

Cross-site requests: the POST is refused (403) when the browser says it comes from another site
(``Sec-Fetch-Site: cross-site``, or an ``Origin`` that is neither this API's public URL nor the address it was
reached at). A page elsewhere can therefore not make a visitor's browser use a link it learnt; whoever holds
the token can act with it anyway, which is what the token is for. The pages may not be framed
(clickjacking), are never cached, and send no Referer to another site (the token is in the URL)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from otelmon.actions import perform as actions
from otelmon.actions.tokens import MUTE, ActionRequest, ExpiredToken, InvalidToken, verify
from otelmon.api.deps import cross_site, get_runtime
from otelmon.api.runtime import Runtime
from otelmon.clock import utcnow
from otelmon.email.render import environment
from otelmon.storage.secret_key import existing_secret_key

router = APIRouter(include_in_schema=False)

_HEADERS = {
    "Cache-Control": "no-store",
    # Not no-referrer: with it, browsers send "Origin: null" even for the page's own form, which the cross-site
    # check would refuse. same-origin keeps the token from any other site all the same.
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
}


def _page(status: int, **context: Any) -> HTMLResponse:
    context = {"title": "", "message": "", "request": None, "failure": None, "confirm": False, "silence": None,
               **context}
    return HTMLResponse(environment().get_template("action.html.j2").render(**context), status_code=status,
                        headers=_HEADERS)


async def _verified(runtime: Runtime, token: str, now: datetime) -> ActionRequest | HTMLResponse:
    def read() -> bytes | None:
        with runtime.engine.connect() as conn:
            return existing_secret_key(conn, runtime.settings)

    secret = await run_in_threadpool(read)
    try:
        if secret is None:  # no link was ever signed here
            raise InvalidToken("not an action link of this OtelMon")
        return verify(secret, token, now)
    except InvalidToken as exc:
        return _page(400, title="This link is not valid", message=str(exc))
    except ExpiredToken as exc:
        return _page(410, title="This link has expired",
                     message=f"{exc}. Use the link of a newer alert, or create a silence with the API or "
                             "`otelmon silence add`.")


@router.get("/actions/{token}")
async def confirm_action(token: str, runtime: Runtime = Depends(get_runtime)) -> HTMLResponse:
    now = utcnow()
    request = await _verified(runtime, token, now)
    if isinstance(request, HTMLResponse):
        return request

    def read() -> actions.Preview:
        with runtime.engine.connect() as conn:
            return actions.preview(conn, runtime.tables, request, now)

    seen = await run_in_threadpool(read)
    if seen.done is not None:
        return _page(200, title="Already done", request=request, failure=seen.failure, silence=seen.done,
                     message=f"This link was used on {seen.done.created_at:%Y-%m-%d %H:%M} UTC "
                             f"(silence #{seen.done.id}).")
    if seen.acknowledged is not None:
        return _page(200, title="Already acknowledged", request=request, failure=seen.failure,
                     silence=seen.acknowledged,
                     message=f"{seen.acknowledged.created_by} acknowledged this issue on "
                             f"{seen.acknowledged.created_at:%Y-%m-%d %H:%M} UTC.")
    return _page(200, title=actions.TITLES[request.action], request=request, failure=seen.failure, confirm=True,
                 message="Nothing has changed yet: confirm with the button.")


@router.post("/actions/{token}")
async def do_action(token: str, http: Request, runtime: Runtime = Depends(get_runtime)) -> HTMLResponse:
    if cross_site(http, runtime.settings.public_url):
        return _page(403, title="Refused", message="This action can only be confirmed from its own page.")
    now = utcnow()
    request = await _verified(runtime, token, now)
    if isinstance(request, HTMLResponse):
        return request
    silence, created = await run_in_threadpool(actions.perform, runtime.engine, runtime.tables, request, now)
    if not created:
        return _page(200, title="Already done", request=request, silence=silence,
                     message=f"Nothing more to do: silence #{silence.id} already covers it "
                             f"(made {silence.created_at:%Y-%m-%d %H:%M} UTC).")
    done = (f"Muted until {silence.ends_at:%Y-%m-%d %H:%M} UTC" if request.action == MUTE
            else "Acknowledged: silenced until the issue resolves or regresses")
    return _page(200, title="Done", request=request, silence=silence,
                 message=f"{done} (silence #{silence.id}). To undo: otelmon silence expire {silence.id}.")
