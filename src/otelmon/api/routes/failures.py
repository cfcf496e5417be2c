"""The failure API: report a failure as JSON, list and read stored failures."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from otelmon.api.deps import get_runtime, read_model, require_token, wake_alerts
from otelmon.api.responses import otlp_status, problem
from otelmon.api.runtime import Runtime
from otelmon.api.schemas import (
    MAX_ID,
    FailureDetail,
    FailurePage,
    FailureQuery,
    FailureReport,
    FailureSummary,
    IssueSummary,
    ReportAccepted,
)
from otelmon.issues.storage import issue_of, issue_to_dict
from otelmon.links import trace_url
from otelmon.silences.store import silence_ids_of
from otelmon.storage import failures_repo
from otelmon.storage.database import read_snapshot
from otelmon.storage.failures_repo import FailureFilter
from otelmon.storage.rows import row_to_dict

router = APIRouter(prefix="/api/v1", tags=["failures"], dependencies=[Depends(require_token)])

_REPORT_LIMIT_BYTES = 2 * 1024 * 1024


def _store_report(runtime: Runtime, report: FailureReport) -> tuple[int, bool]:
    failure = report.to_failure()
    stored = runtime.ingestor.store([failure])
    if stored.rejected:
        raise HTTPException(422, stored.reasons[0])
    if stored.created_ids:
        return stored.created_ids[0], True
    with runtime.engine.connect() as conn:
        return failures_repo.find_id(conn, runtime.tables, failure.identity_key), False


@router.post(
    "/process-failure",
    response_model=ReportAccepted,
    status_code=201,
    summary="Report a failure as JSON (201 created, 200 when it was already stored)",
    responses={
        200: {"model": ReportAccepted, "description": "already stored (a retried report)"},
        413: otlp_status("body over the limit"),
        422: {"description": "invalid report; detail names each field"},
    },
    # The body is read with a size cap before validation, so its schema is declared here.
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": FailureReport.model_json_schema()}},
        }
    },
)
async def report_failure(request: Request, runtime: Runtime = Depends(get_runtime)) -> JSONResponse:
    limit = min(runtime.settings.max_body_bytes, _REPORT_LIMIT_BYTES)
    report = await read_model(request, runtime, FailureReport, limit)
    if isinstance(report, JSONResponse):
        return report
    failure_id, created = await run_in_threadpool(_store_report, runtime, report)
    runtime.metrics.ingest_requests.labels("201" if created else "200").inc()
    if created:
        wake_alerts(request)
        runtime.metrics.failures_stored.inc()
    else:
        runtime.metrics.failures_duplicate.inc()
    return JSONResponse({"id": failure_id, "created": created}, status_code=201 if created else 200)


def _with_link(runtime: Runtime, data: dict, silences: dict[int, int]) -> dict:
    data["trace_url"] = trace_url(runtime.settings, data.get("trace_id"))
    data["silence_id"] = silences.get(data["id"])
    data["silenced"] = data["silence_id"] is not None
    return data


@router.get(
    "/failures",
    response_model=FailurePage,
    summary="Stored failures, newest first",
    responses={400: problem("invalid cursor")},
)
async def list_failures(
    params: Annotated[FailureQuery, Query()], runtime: Runtime = Depends(get_runtime)
) -> FailurePage:
    flt = FailureFilter(
        since=params.since, until=params.until, platform=params.platform, group=params.group, process=params.process
    )

    def query():
        with runtime.engine.connect() as conn:
            rows, next_cursor = failures_repo.list_failures(conn, runtime.tables, flt, params.limit, params.cursor)
            return rows, next_cursor, silence_ids_of(conn, runtime.tables, [r.id for r in rows])

    try:
        rows, next_cursor, silences = await run_in_threadpool(query)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    items = [FailureSummary(**_with_link(runtime, row_to_dict(r, full=False), silences)) for r in rows]
    return FailurePage(items=items, next_cursor=next_cursor)


@router.get(
    "/failures/{failure_id}",
    response_model=FailureDetail,
    summary="One failure with its stack trace",
    responses={404: problem("no failure with this id")},
)
async def get_failure(
    failure_id: Annotated[int, Path(ge=1, le=MAX_ID)], runtime: Runtime = Depends(get_runtime)
) -> FailureDetail:
    def query():
        with read_snapshot(runtime.engine) as conn:
            row = failures_repo.get_failure(conn, runtime.tables, failure_id)
            return (row, row and issue_of(conn, runtime.tables, row.fingerprint),
                    silence_ids_of(conn, runtime.tables, [failure_id]))

    row, issue, silences = await run_in_threadpool(query)
    if row is None:
        raise HTTPException(404, f"no failure {failure_id}")
    detail = _with_link(runtime, row_to_dict(row, full=True), silences)
    detail["issue"] = IssueSummary(**issue_to_dict(issue)) if issue is not None else None
    return FailureDetail(**detail)
