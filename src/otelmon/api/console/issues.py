"""``/console/issues``: the issues, most recently failing first; one issue with its recent failures; acknowledge
it (its failures are silenced until it resolves or regresses)."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from otelmon.api.console.deps import PREFIX, Submitted, Viewer, error_page, flash, form, viewer
from otelmon.api.console.filters import PAGE_SIZE, BadFilter, IssueFilters, read_filters
from otelmon.clock import utcnow
from otelmon.issues.lifecycle import STATES
from otelmon.issues.storage import IssueFilter, issue_of, issue_to_dict, list_issues
from otelmon.silences import store
from otelmon.storage.database import read_snapshot
from otelmon.storage.failures_repo import recent_of_issue
from otelmon.storage.rows import row_to_dict

router = APIRouter(prefix=PREFIX, include_in_schema=False)

FINGERPRINT = re.compile(r"^[0-9a-f]{16}$")
RECENT_FAILURES = 20
AUTHOR_CHARS, COMMENT_CHARS = 255, 2000
_DONE = {"acked": "Acknowledged (silence #{id}): its failures are not notified until it resolves or regresses.",
         "already": "It was already acknowledged (silence #{id}); that acknowledgement stays."}


@router.get("/issues")
async def issues_page(request: Request, viewer: Viewer = Depends(viewer)) -> Response:
    try:
        filters = read_filters(request, IssueFilters)
    except BadFilter as exc:
        return error_page(viewer, 400, "Issues", str(exc))
    runtime = viewer.runtime
    wanted = IssueFilter(state=filters.state, platform=filters.platform, group=filters.group,
                         process=filters.process)

    def query() -> tuple[list[Any], str | None, dict]:
        with read_snapshot(runtime.engine) as conn:
            rows, next_cursor = list_issues(conn, runtime.tables, wanted, PAGE_SIZE, filters.cursor)
            return rows, next_cursor, store.holding_issues(conn, runtime.tables, rows, utcnow())

    try:
        rows, next_cursor, held = await run_in_threadpool(query)
    except ValueError as exc:  # a cursor that is not one of ours
        return error_page(viewer, 400, "Issues", f"That page cannot be opened ({exc}): start from the first page.")
    items = [{**issue_to_dict(row), "held_by": held.get(row.fingerprint)} for row in rows]
    older = filters.query(cursor=next_cursor) if next_cursor else None
    return viewer.page("console/issues.html.j2", title="Issues", nav="issues", issues=items, filters=filters,
                       states=STATES, older=older, first_page=filters.query(cursor=None) if filters.cursor else None)


def _issue_context(viewer: Viewer, fingerprint: str) -> dict[str, Any] | None:
    """What the issue page shows; None when there is no such issue."""
    runtime = viewer.runtime
    now = utcnow()
    with read_snapshot(runtime.engine) as conn:
        issue = issue_of(conn, runtime.tables, fingerprint)
        if issue is None:
            return None
        failures = recent_of_issue(conn, runtime.tables, issue, RECENT_FAILURES)
        ack = store.active_ack(conn, runtime.tables, fingerprint, now)
        held = store.holding_issues(conn, runtime.tables, [issue], now).get(fingerprint)
        silenced = store.silence_ids_of(conn, runtime.tables, [f.id for f in failures])
    return {"issue": issue_to_dict(issue), "ack": ack, "held_by": held,
            "failures": [{**row_to_dict(f, full=False), "silence_id": silenced.get(f.id)} for f in failures],
            "more_failures": len(failures) == RECENT_FAILURES}


async def _issue_page(viewer: Viewer, fingerprint: str, status: int = 200, **extra: Any) -> Response:
    context = await run_in_threadpool(_issue_context, viewer, fingerprint) if FINGERPRINT.match(fingerprint) else None
    if context is None:
        return error_page(viewer, 404, "No such issue",
                          "There is no issue with this fingerprint (16 hexadecimal digits); it may never have "
                          "failed here. The list of issues shows those there are.")
    issue = context["issue"]
    title = f"{issue['platform']} / {issue['group']} / {issue['process']}"
    form_values = {"author": "", "comment": ""}  # the acknowledge form, refilled after a refusal
    return viewer.page("console/issue.html.j2", status=status, title=title, nav="issues",
                       **context, **{**form_values, **extra})


@router.get("/issues/{fingerprint}")
async def issue_page(fingerprint: str, request: Request, viewer: Viewer = Depends(viewer)) -> Response:
    return await _issue_page(viewer, fingerprint, flash=flash(request, _DONE))


@router.post("/issues/{fingerprint}/ack")
async def acknowledge(fingerprint: str, submitted: Submitted = Depends(form)) -> Response:
    viewer = submitted.viewer
    author, comment = submitted.get("author").strip(), submitted.get("comment").strip() or "Acknowledged"
    problem = ("Say who acknowledges it (Your name)." if not author
               else f"Your name is longer than {AUTHOR_CHARS} characters." if len(author) > AUTHOR_CHARS
               else f"The comment is longer than {COMMENT_CHARS} characters." if len(comment) > COMMENT_CHARS
               else None)
    if problem is not None or not FINGERPRINT.match(fingerprint):
        return await _issue_page(viewer, fingerprint, status=422, flash_error=f"Not acknowledged: {problem}",
                                 author=author, comment=submitted.get("comment"))
    runtime = viewer.runtime

    def ack() -> tuple[Any, bool] | None:
        with runtime.engine.begin() as conn:
            if issue_of(conn, runtime.tables, fingerprint) is None:
                return None
            return store.acknowledge(conn, runtime.tables, fingerprint, comment=comment, created_by=author,
                                     now=utcnow())

    done = await run_in_threadpool(ack)
    if done is None:
        return await _issue_page(viewer, fingerprint)  # the 404 page
    silence, created = done
    return viewer.redirect(f"{PREFIX}/issues/{fingerprint}?done={'acked' if created else 'already'}&id={silence.id}")
