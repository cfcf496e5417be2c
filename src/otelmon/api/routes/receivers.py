"""``/api/v1/receivers``: where alerts can go (secrets masked), and a test message through one receiver."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from pydantic import BaseModel

from otelmon.alerting.trial import UnknownReceiver
from otelmon.api.deps import get_runtime, require_token
from otelmon.api.runtime import Runtime
from otelmon.api.trial import send_test_from_api

router = APIRouter(prefix="/api/v1", tags=["receivers"], dependencies=[Depends(require_token)])


class TrialItem(BaseModel):
    integration: str
    target: int
    outcome: Literal["delivered", "retry", "failed"]
    detail: str | None


class TrialReport(BaseModel):
    receiver: str
    results: list[TrialItem]


@router.get("/receivers", summary="Receivers, their integrations and the routes to them (secrets masked)")
async def list_receivers(runtime: Runtime = Depends(get_runtime)) -> dict[str, Any]:
    return runtime.router.describe()


@router.post("/receivers/{name}/test", response_model=TrialReport,
             responses={404: {"description": "No receiver with this name"}},
             summary="Send a test message through every integration of a receiver, bypassing throttling; "
             "each integration's result")
async def test_receiver(request: Request, name: str = Path(max_length=128),
                        runtime: Runtime = Depends(get_runtime)) -> TrialReport:
    try:
        results = await send_test_from_api(request, runtime, name)
    except UnknownReceiver as exc:
        raise HTTPException(404, str(exc)) from None
    return TrialReport(receiver=name, results=[TrialItem(**r.__dict__) for r in results])
