"""What every console route shares: who is asking (the session), the CSRF check of forms, page rendering
with the console's security headers.

GET pages need a session that is current (``session.Signer.is_current``): with ``OTELMON_INGEST_TOKEN`` set, a
visitor without one is sent to the login page; without a token the console is open, as the API is, and a
visitor is given a session on their first page so that forms carry a CSRF token all the same. Every POST
needs that session, the form's CSRF token and a same-site origin, else 403: nothing changes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from otelmon import __version__
from otelmon.api.deps import cross_site, get_runtime, read_body
from otelmon.api.runtime import Runtime
from otelmon.api.schemas import MAX_ID
from otelmon.console.session import COOKIE, MAX_AGE_SECONDS, Session, Signer
from otelmon.email.render import environment
from otelmon.storage.secret_key import ensure_secret_key

PREFIX = "/console"
# Console forms are a few short fields; anything bigger is not one of ours.
MAX_FORM_BYTES = 64 * 1024
MAX_FORM_FIELDS = 50

HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # Only this server's own stylesheet and script; forms post only here; the digest preview may be framed by
    # the console itself (frame-src 'self'), nothing else may frame a console page.
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
                               "form-action 'self'; frame-src 'self'; frame-ancestors 'self'; base-uri 'none'",
}

_key_lock = asyncio.Lock()


async def signer(request: Request, runtime: Runtime = Depends(get_runtime)) -> Signer:
    """The signer for this installation's secret key, read (or created) once per process."""
    cached = getattr(request.app.state, "console_signer", None)
    if cached is not None:
        return cached
    async with _key_lock:
        cached = getattr(request.app.state, "console_signer", None)
        if cached is None:
            key = await run_in_threadpool(ensure_secret_key, runtime.engine, runtime.settings)
            cached = request.app.state.console_signer = Signer(key)
    return cached


def _token(runtime: Runtime) -> str | None:
    token = runtime.settings.ingest_token
    return token.get_secret_value() if token is not None and token.get_secret_value() else None


class LoginRequired(Exception):
    """A GET page without a current session while a token is configured: answered with a redirect to login."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path


class Refused(Exception):
    """A POST without a session, a CSRF token or from another site: answered 403, nothing changed."""

    def __init__(self, reason: str, status: int = 403) -> None:
        self.reason = reason
        self.status = status


@dataclass
class Viewer:
    """The person looking at a console page: their session, and how to render for them."""

    request: Request
    runtime: Runtime
    signer: Signer
    session: Session
    new_cookie: bool = False  # the session was made for this request: set it on the response
    token_required: bool = False
    extra_headers: dict[str, str] = field(default_factory=dict)

    @property
    def csrf(self) -> str:
        return self.signer.csrf_token(self.session)

    def url(self, path: str) -> str:
        """A console path under the app's root path (behind a proxy at a sub-path)."""
        return self.request.scope.get("root_path", "") + path

    def page(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        base = {"root": self.request.scope.get("root_path", ""), "csrf": self.csrf, "version": __version__,
                "token_required": self.token_required, "flash": None, "flash_error": None, "nav": None,
                "title": "OtelMon"}
        html = environment().get_template(template).render(**{**base, **context})
        response = HTMLResponse(html, status_code=status, headers={**HEADERS, **self.extra_headers})
        self.remember(response)
        return response

    def redirect(self, path: str) -> RedirectResponse:
        """After a form's POST: see the result with a GET (a reload does not post again)."""
        response = RedirectResponse(self.url(path), status_code=303, headers=HEADERS)
        self.remember(response)
        return response

    def remember(self, response: Response) -> None:
        if self.new_cookie:
            set_session_cookie(response, self.request, self.signer, self.session)


def set_session_cookie(response: Response, request: Request, signer: Signer, session: Session) -> None:
    response.set_cookie(COOKIE, signer.dump(session), max_age=MAX_AGE_SECONDS, path="/", httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")


async def viewer(request: Request, runtime: Runtime = Depends(get_runtime),
                 signer: Signer = Depends(signer)) -> Viewer:
    """For GET pages: the visitor's session, made for them when they have none and the console is open."""
    token = _token(runtime)
    session = signer.load(request.cookies.get(COOKIE))
    if session is not None and signer.is_current(session, token):
        return Viewer(request, runtime, signer, session, token_required=token is not None)
    if token is not None:
        raise LoginRequired(_here(request))
    return Viewer(request, runtime, signer, signer.new_session(), new_cookie=True)


async def visitor(request: Request, runtime: Runtime = Depends(get_runtime),
                  signer: Signer = Depends(signer)) -> Viewer:
    """For the login page: any session, logged in or not (one is made when there is none)."""
    session = signer.load(request.cookies.get(COOKIE))
    token_required = _token(runtime) is not None
    if session is None:
        return Viewer(request, runtime, signer, signer.new_session(), new_cookie=True, token_required=token_required)
    return Viewer(request, runtime, signer, session, token_required=token_required)


@dataclass
class Submitted:
    """A form that passed the checks: who sent it, and its fields."""

    viewer: Viewer
    fields: dict[str, str]

    def get(self, name: str, default: str = "") -> str:
        return self.fields.get(name, default)


async def read_form(request: Request) -> dict[str, str]:
    """The urlencoded fields of a console form, bounded in bytes and fields (the last value of a repeated one)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise Refused("a console form is sent as application/x-www-form-urlencoded", 415)
    body = await read_body(request, MAX_FORM_BYTES)
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS,
                          strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise Refused("the form could not be read", 400) from None
    return dict(pairs)


async def _checked(request: Request, runtime: Runtime, signer: Signer, need_login: bool) -> Submitted:
    if cross_site(request, runtime.settings.public_url):
        raise Refused("a console form can only be sent from the console's own pages")
    session = signer.load(request.cookies.get(COOKIE))
    if session is None:
        raise Refused("no console session: open the page again and resend the form")
    token = _token(runtime)
    if need_login and not signer.is_current(session, token):
        raise Refused("not logged in: log in and try again")
    fields = await read_form(request)
    if not signer.csrf_ok(session, fields.get("csrf")):
        raise Refused("the form's security token is missing or does not match this session: reload the page")
    return Submitted(Viewer(request, runtime, signer, session, token_required=token is not None), fields)


async def form(request: Request, runtime: Runtime = Depends(get_runtime),
               signer: Signer = Depends(signer)) -> Submitted:
    """For every mutating route: a current session, a same-site origin and the form's CSRF token, else 403."""
    return await _checked(request, runtime, signer, need_login=True)


async def login_form(request: Request, runtime: Runtime = Depends(get_runtime),
                     signer: Signer = Depends(signer)) -> Submitted:
    """For the login form: a session (not yet logged in) and its CSRF token."""
    return await _checked(request, runtime, signer, need_login=False)


def flash(request: Request, messages: dict[str, str]) -> str | None:
    """The message a redirect after a form asked for: ``?done=<code>&id=<n>``, from the route's own list (never
    text from the URL, which anyone can write)."""
    template = messages.get(request.query_params.get("done", ""))
    if template is None:
        return None
    ident = request.query_params.get("id", "")
    return template.format(id=int(ident) if ident.isdigit() and len(ident) < 20 else "?")


def _here(request: Request) -> str:
    path = request.url.path[len(request.scope.get("root_path", "")):] if request.scope.get("root_path") else \
        request.url.path
    query = f"?{request.url.query}" if request.url.query else ""
    return path + query


def safe_next(target: str | None) -> str:
    """Where to go after login: a console path of this server only (never another site: no open redirect)."""
    default = f"{PREFIX}/"
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith(f"{PREFIX}/") or "\\" in target \
            or target.startswith("//"):
        return default
    return quote(parts.path, safe="/-_.~") + (f"?{parts.query}" if parts.query else "")


def error_page(viewer: Viewer, status: int, title: str, message: str) -> HTMLResponse:
    return viewer.page("console/error.html.j2", status=status, title=title, message=message)


@dataclass(frozen=True)
class Paging:
    """A listing page's place: newest first, ids below ``before_id``, ``limit`` of them."""

    before_id: int | None
    limit: int


def paging(request: Request, default: int = 50, most: int = 200) -> Paging | None:
    """``?before_id=`` and ``?limit=`` of a listing, or None when one is not a whole number in its range."""

    def number(name: str, top: int) -> int | None | bool:
        text = request.query_params.get(name, "")
        if not text:
            return None
        return int(text) if text.isdigit() and len(text) < 20 and 0 < int(text) <= top else False

    before_id, limit = number("before_id", MAX_ID), number("limit", most)
    if before_id is False or limit is False:
        return None
    return Paging(before_id, limit or default)


def sentence(exc: Exception) -> str:
    """An exception's message as a sentence on a page: capitalised, with its full stop."""
    text = str(exc)
    return f"{text[:1].upper()}{text[1:]}."
