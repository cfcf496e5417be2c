"""``GET /api/v1/issues``: the life of each fingerprint, most recently failing first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from starlette.concurrency import run_in_threadpool

from otelmon.api.deps import get_runtime, require_token
from otelmon.api.responses import problem
from otelmon.api.runtime import Runtime
from otelmon.api.schemas import IssuePage, IssueQuery, IssueSummary
from otelmon.issues.storage import IssueFilter, issue_to_dict, list_issues

router = APIRouter(prefix="/api/v1", tags=["issues"], dependencies=[Depends(require_token)])


@router.get(
    "/issues",
    response_model=IssuePage,
    summary="Issues (one per fingerprint: new, ongoing, resolved, regressed), most recently failing first",
    responses={400: problem("invalid cursor")},
)
async def get_issues(params: Annotated[IssueQuery, Query()], runtime: Runtime = Depends(get_runtime)) -> IssuePage:
    flt = IssueFilter(state=params.state, platform=params.platform, group=params.group, process=params.process)

    def query():
        with runtime.engine.connect() as conn:
            return list_issues(conn, runtime.tables, flt, params.limit, params.cursor)

    try:
        rows, next_cursor = await run_in_threadpool(query)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
    return IssuePage(items=[IssueSummary(**issue_to_dict(row)) for row in rows], next_cursor=next_cursor)
