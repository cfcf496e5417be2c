"""``/console/receivers``: where alerts can go (the router's own description, secrets masked), and a test
message through one receiver, each integration's result shown."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from otelmon.alerting.routing import LEGACY_SOURCE
from otelmon.alerting.trial import UnknownReceiver
from otelmon.api.console.deps import PREFIX, Submitted, Viewer, error_page, form, viewer
from otelmon.api.trial import send_test_from_api

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/receivers")
async def receivers_page(viewer: Viewer = Depends(viewer)) -> Response:
    router_ = viewer.runtime.router
    return viewer.page("console/receivers.html.j2", title="Receivers", nav="receivers",
                       described=router_.describe(), legacy=router_.source is None, legacy_source=LEGACY_SOURCE,
                       warnings=router_.warnings(), alerts_enabled=viewer.runtime.settings.alerts_enabled)


@router.post("/receivers/{name}/test")
async def send_test_page(name: str, submitted: Submitted = Depends(form)) -> Response:
    """Answered with the results themselves (no redirect): a reload asks before posting again, and the page
    is never cached (``no-store``), so a test is sent once per click."""
    viewer = submitted.viewer
    try:
        results = await send_test_from_api(viewer.request, viewer.runtime, name)
    except UnknownReceiver as exc:
        return error_page(viewer, 404, "No such receiver", str(exc))
    return viewer.page("console/receiver_test.html.j2", title=f"Test of {name}", nav="receivers", receiver=name,
                       results=results)
