"""The console's routes (``/console/...``): thin pages over the package's own queries and commands.

One module per page: ``issues``, ``failures``, ``silences``, ``alerts``, ``receivers``, ``digest``; ``home``
for ``/console/``; ``login`` for the session; ``deps`` for the session, CSRF and rendering every page shares."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

import otelmon.console
from otelmon.api.console import failures, home, issues, login
from otelmon.api.console.deps import HEADERS, PREFIX, LoginRequired, Refused, signer, visitor

STATIC = Path(otelmon.console.__file__).parent / "static"
ROUTERS = (login.router, home.router, issues.router, failures.router)


def install_console(app: FastAPI) -> None:
    for router in ROUTERS:
        app.include_router(router)
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="console-static")

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        root = request.scope.get("root_path", "")
        return RedirectResponse(f"{root}{PREFIX}/login?next={quote(exc.next_path, safe='')}", status_code=303,
                                headers=HEADERS)

    @app.exception_handler(Refused)
    async def _refused(request: Request, exc: Refused) -> Response:
        runtime = request.app.state.runtime
        viewer = await visitor(request, runtime, await signer(request, runtime))
        return viewer.page("console/error.html.j2", status=exc.status, title="Refused",
                           message=f"{exc.reason}. Nothing was changed.")
