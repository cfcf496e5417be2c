"""The console's routes (``/console/...``): thin pages over the package's own queries and commands.

One module per page: ``issues``, ``failures``, ``silences``, ``alerts``, ``receivers``, ``digest``; ``home``
for ``/console/``; ``login`` for the session; ``deps`` for the session, CSRF and rendering every page shares."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

import otelmon.console
from otelmon.api.console import alerts, digest, failures, home, issues, login, receivers, silences
from otelmon.api.console.deps import HEADERS, PREFIX, LoginRequired, Refused, signer, visitor
from otelmon.email.render import environment

STATIC = Path(otelmon.console.__file__).parent / "static"
ROUTERS = (login.router, home.router, issues.router, failures.router, silences.router, alerts.router,
           receivers.router, digest.router)


def install_console(app: FastAPI) -> None:
    for router in ROUTERS:
        app.include_router(router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="console-static")

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        root = request.scope.get("root_path", "")
        if request.headers.get("sec-fetch-site", "").lower() == "cross-site":
            # A link followed from another site (an alert in webmail, Slack): the browser withheld the
            # SameSite=Strict cookie. Navigating again from this page is same-origin, so it is sent then, and a
            # logged-in person sees the page instead of the login form; without a session the second request
            # is same-origin and goes to login as usual (no loop).
            return HTMLResponse(environment().get_template("console/reload.html.j2").render(
                root=root, target=f"{root}{exc.next_path}"), headers=HEADERS)
        return RedirectResponse(f"{root}{PREFIX}/login?next={quote(exc.next_path, safe='')}", status_code=303,
                                headers=HEADERS)

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> Response:
        runtime = request.app.state.runtime
        viewer = await visitor(request, runtime, await signer(request, runtime))
        return viewer.page("console/error.html.j2", status=exc.status, title="Refused",
                           message=f"{exc.reason}. Nothing was changed.")
