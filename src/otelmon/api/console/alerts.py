"""``/console/alerts``: the alerts, newest first, with their deliveries per channel and the counts by state;
"Resend" and "Cancel" as ``POST /api/v1/alerts/{id}/resend|cancel`` do them (``otelmon.alerting.admin``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from otelmon.alerting import admin
from otelmon.alerting.delivery import CANCELLED, FAILED, PENDING, SENDING, SENT, UNROUTABLE
from otelmon.alerting.history import AlertHistory, read_history
from otelmon.api.console.deps import PREFIX, Submitted, Viewer, error_page, flash, form, paging, sentence, viewer
from otelmon.api.deps import wake_sender
from otelmon.api.schemas import MAX_ID

router = APIRouter(prefix=PREFIX, include_in_schema=False)

STATES = (PENDING, SENDING, SENT, FAILED, UNROUTABLE, CANCELLED)
DONE = {"resent": "Alert #{id} is queued to be sent again.", "cancelled": "Alert #{id} cancelled: it will not be sent."}


def _alerts(history: AlertHistory, rows: list[Any]) -> list[dict[str, Any]]:
    return [{"row": row, "recipients": json.loads(row.recipients), "deliveries": history.deliveries.get(row.id, []),
             "head": history.heads.get(row.head_failure_id),
             "resendable": row.state in admin.RESENDABLE, "cancellable": row.state in admin.CANCELLABLE}
            for row in rows]


@router.get("/alerts")
async def alerts_page(request: Request, viewer: Viewer = Depends(viewer)) -> Response:
    state = request.query_params.get("state", "")
    place = paging(request)
    if (state and state not in STATES) or place is None:
        return error_page(viewer, 422, "Not an alert listing",
                          f"state is one of {', '.join(STATES)}; before_id is an alert id; limit is 1 to 200.")
    history = await run_in_threadpool(read_history, viewer.runtime.engine, viewer.runtime.tables, state or None,
                                      place.limit, place.before_id)
    more = len(history.rows) > place.limit
    rows = history.rows[: place.limit]
    return viewer.page("console/alerts.html.j2", title="Alerts", nav="alerts", flash=flash(request, DONE),
                       alerts=_alerts(history, rows), state=state, states=STATES,
                       alerts_by_state=history.alerts_by_state, limit=place.limit,
                       next_before_id=rows[-1].id if more else None)


@router.get("/alerts/{alert_id}")
async def alert_page(request: Request, alert_id: int = Path(ge=1, le=MAX_ID),
                     viewer: Viewer = Depends(viewer)) -> Response:
    # The newest alert below alert_id + 1 is this one, if it exists.
    history = await run_in_threadpool(read_history, viewer.runtime.engine, viewer.runtime.tables, None, 0,
                                      alert_id + 1)
    rows = [r for r in history.rows if r.id == alert_id]
    if not rows:
        return error_page(viewer, 404, "No such alert", f"Alert {alert_id} does not exist.")
    return viewer.page("console/alert.html.j2", title=f"Alert #{alert_id}", nav="alerts",
                       flash=flash(request, DONE), alert=_alerts(history, rows)[0])


async def _act(submitted: Submitted, alert_id: int, action: Callable[..., Any], done: str) -> Response:
    viewer = submitted.viewer
    try:
        await run_in_threadpool(action, viewer.runtime.engine, viewer.runtime.tables, alert_id)
    except admin.AlertNotFound:
        return error_page(viewer, 404, "No such alert", f"Alert {alert_id} does not exist. Nothing was changed.")
    except admin.InvalidTransition as exc:
        return error_page(viewer, 409, "Not possible now", f"{sentence(exc)} Nothing was changed.")
    wake_sender(viewer.request)
    back = submitted.get("back")
    target = f"{PREFIX}/alerts/{alert_id}" if back == "detail" else f"{PREFIX}/alerts"
    return viewer.redirect(f"{target}?done={done}&id={alert_id}")


@router.post("/alerts/{alert_id}/resend")
async def resend_alert(alert_id: int = Path(ge=1, le=MAX_ID), submitted: Submitted = Depends(form)) -> Response:
    return await _act(submitted, alert_id, admin.resend, "resent")


@router.post("/alerts/{alert_id}/cancel")
async def cancel_alert(alert_id: int = Path(ge=1, le=MAX_ID), submitted: Submitted = Depends(form)) -> Response:
    return await _act(submitted, alert_id, admin.cancel, "cancelled")
