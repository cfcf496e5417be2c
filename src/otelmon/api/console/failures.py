"""``/console/failures``: stored failures, newest first; one failure with its stack trace, the other tries of its
run, its causes and log lines, its issue, and links to its trace (Grafana) and its task (Airflow, NiFi)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from otelmon.api.console.deps import PREFIX, Viewer, error_page, viewer
from otelmon.api.console.filters import PAGE_SIZE, BadFilter, FailureFilters, read_filters
from otelmon.api.schemas import MAX_ID
from otelmon.failures.causes import step_causes
from otelmon.issues.storage import issue_of, issue_to_dict
from otelmon.links import airflow_task_url, nifi_processor_url, trace_url
from otelmon.silences.store import silence_ids_of
from otelmon.storage import failures_repo
from otelmon.storage.database import read_snapshot
from otelmon.storage.failures_repo import FailureFilter
from otelmon.storage.rows import row_to_dict
from otelmon.storage.runs_repo import tries_of_run

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@router.get("/failures")
async def failures_page(request: Request, viewer: Viewer = Depends(viewer)) -> Response:
    try:
        filters = read_filters(request, FailureFilters)
    except BadFilter as exc:
        return error_page(viewer, 400, "Failures", str(exc))
    runtime = viewer.runtime
    wanted = FailureFilter(since=filters.since, until=filters.until, platform=filters.platform,
                           group=filters.group, process=filters.process)

    def query() -> tuple[list[Any], str | None, dict[int, int]]:
        with read_snapshot(runtime.engine) as conn:
            rows, next_cursor = failures_repo.list_failures(conn, runtime.tables, wanted, PAGE_SIZE, filters.cursor)
            return rows, next_cursor, silence_ids_of(conn, runtime.tables, [r.id for r in rows])

    try:
        rows, next_cursor, silenced = await run_in_threadpool(query)
    except ValueError as exc:  # a cursor that is not one of ours
        return error_page(viewer, 400, "Failures", f"That page cannot be opened ({exc}): start from the first page.")
    items = [{**row_to_dict(row, full=False), "silence_id": silenced.get(row.id)} for row in rows]
    older = filters.query(cursor=next_cursor) if next_cursor else None
    return viewer.page("console/failures.html.j2", title="Failures", nav="failures", failures=items,
                       filters=filters, older=older,
                       first_page=filters.query(cursor=None) if filters.cursor else None)


def _failure_context(viewer: Viewer, failure_id: int) -> dict[str, Any] | None:
    runtime = viewer.runtime
    settings = runtime.settings
    with read_snapshot(runtime.engine) as conn:
        row = failures_repo.get_failure(conn, runtime.tables, failure_id)
        if row is None:
            return None
        issue = issue_of(conn, runtime.tables, row.fingerprint)
        silence_id = silence_ids_of(conn, runtime.tables, [failure_id]).get(failure_id)
        tries = (tries_of_run(conn, runtime.tables, row.platform, row.group_name, row.process_name, row.run_id)
                 if row.run_id else [])
    failure = row_to_dict(row, full=True)
    attributes = failure["attributes"] if isinstance(failure["attributes"], dict) else {}
    return {
        "failure": failure, "issue": issue_to_dict(issue) if issue is not None else None, "silence_id": silence_id,
        "tries": tries, "causes": step_causes(attributes),
        "span_attributes": _flat(attributes.get("span")), "resource_attributes": _flat(attributes.get("resource")),
        "trace_url": trace_url(settings, failure["trace_id"]),
        "airflow_url": airflow_task_url(settings, failure), "nifi_url": nifi_processor_url(settings, failure),
    }


def _flat(attributes: Any) -> list[tuple[str, str]]:
    """Attributes as sorted (key, text) pairs; a list shows its items comma-separated."""
    if not isinstance(attributes, dict):
        return []
    return [(str(key), ", ".join(map(str, value)) if isinstance(value, list) else str(value))
            for key, value in sorted(attributes.items())]


@router.get("/failures/{failure_id}")
async def failure_page(failure_id: str, viewer: Viewer = Depends(viewer)) -> Response:
    wanted = int(failure_id) if failure_id.isdigit() and len(failure_id) < 20 else 0
    context = await run_in_threadpool(_failure_context, viewer, wanted) if 0 < wanted <= MAX_ID else None
    if context is None:
        return error_page(viewer, 404, "No such failure",
                          "There is no failure with this id here; it may have been removed by retention "
                          "(OTELMON_RETENTION_DAYS). The list of failures shows those there are.")
    failure = context["failure"]
    title = f"{failure['error_type'] or 'Failure'} in {failure['process']}"
    return viewer.page("console/failure.html.j2", title=title, nav="failures", **context)
