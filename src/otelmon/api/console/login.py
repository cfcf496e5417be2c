"""``/console/login`` and ``/console/logout``: the ingest token, typed once, opens a session cookie."""

from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from otelmon.api.console.deps import PREFIX, Submitted, Viewer, login_form, safe_next, set_session_cookie, visitor
from otelmon.api.console.deps import form as checked_form

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/login")
async def login_page(next: str | None = Query(None, max_length=2000), viewer: Viewer = Depends(visitor)) -> Response:
    if not viewer.token_required:
        return viewer.redirect(safe_next(next))
    return viewer.page("console/login.html.j2", title="Log in", next=safe_next(next), error=None)


@router.post("/login")
async def log_in(submitted: Submitted = Depends(login_form)) -> Response:
    viewer = submitted.viewer
    target = safe_next(submitted.get("next"))
    expected = viewer.runtime.settings.ingest_token
    secret = expected.get_secret_value() if expected is not None else ""
    if not secret:
        return viewer.redirect(target)
    supplied = submitted.get("token").strip()
    if not hmac.compare_digest(supplied.encode(), secret.encode()):
        return viewer.page("console/login.html.j2", status=401, title="Log in", next=target,
                           error="That is not this OtelMon's token (OTELMON_INGEST_TOKEN).")
    session = viewer.signer.new_session(secret)  # a new nonce: the pre-login one is not carried over
    response = viewer.redirect(target)
    set_session_cookie(response, viewer.request, viewer.signer, session)
    return response


@router.post("/logout")
async def log_out(submitted: Submitted = Depends(checked_form)) -> Response:
    viewer = submitted.viewer
    response = viewer.redirect(f"{PREFIX}/login")
    set_session_cookie(response, viewer.request, viewer.signer, viewer.signer.new_session())
    return response
