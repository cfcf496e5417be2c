"""``/console/silences``: the silences (active or over) with their "Expire" button, and the form that creates one,
showing first what its matchers would hold back now (``otelmon.silences.preview``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from otelmon.api.console.deps import PREFIX, Submitted, Viewer, error_page, flash, form, paging, sentence, viewer
from otelmon.api.schemas import MAX_ID
from otelmon.clock import utcnow
from otelmon.silences import store
from otelmon.silences.model import MATCHER_KEYS, Silence, check_matchers, check_note, check_window, parse_time
from otelmon.silences.preview import Preview, preview

router = APIRouter(prefix=PREFIX, include_in_schema=False)

PREVIEW_SIZE = 10
STATES = ("active", "expired", "all")
DONE = {"created": "Silence #{id} created.", "expired": "Silence #{id} expired: matching failures are alerted again."}


@dataclass
class Draft:
    """The create form's fields as typed (strings), from the URL (prefill, preview) or the posted form."""

    platform: str = ""
    group: str = ""
    process: str = ""
    error_type: str = ""
    fingerprint: str = ""
    duration: str = "24h"
    ends_at: str = ""
    comment: str = ""
    author: str = ""

    @classmethod
    def of(cls, values: Mapping[str, str]) -> Draft:
        given = {f.name: values[f.name].strip() for f in fields(cls) if f.name in values}
        if given.get("ends_at") and "duration" not in given:
            given["duration"] = ""  # an end time given: not also the default duration
        return cls(**given)

    def matchers(self) -> dict[str, str]:
        return {key: getattr(self, key) for key in MATCHER_KEYS if getattr(self, key)}


@dataclass(frozen=True)
class Checked:
    matchers: dict[str, str]
    starts_at: datetime
    ends_at: datetime
    comment: str
    author: str


def check(draft: Draft, now: datetime) -> Checked:
    """The checks of ``POST /api/v1/silences`` (the package's), on the form's fields; ValueError says what."""
    matchers = check_matchers(draft.matchers())
    comment, author = check_note(draft.comment, draft.author)
    starts, ends = check_window(None, parse_time(draft.ends_at), draft.duration or None, now)
    return Checked(matchers, starts, ends, comment, author)


async def _preview(viewer: Viewer, draft: Draft) -> tuple[Preview | None, str | None]:
    """What the draft's matchers hold back now, or why they cannot (no matchers: nothing to show)."""
    matchers = draft.matchers()
    if not matchers:
        return None, None

    def query() -> Preview:
        with viewer.runtime.engine.connect() as conn:
            return preview(conn, viewer.runtime.tables, matchers, PREVIEW_SIZE)

    try:
        return await run_in_threadpool(query), None
    except ValueError as exc:
        return None, str(exc)


async def _form_page(viewer: Viewer, draft: Draft, error: str | None = None, status: int = 200) -> Response:
    found, preview_error = await _preview(viewer, draft)
    return viewer.page("console/silence_new.html.j2", status=status, title="New silence", nav="silences",
                       draft=draft, error=error, preview=found, preview_error=preview_error, keys=MATCHER_KEYS)


@router.get("/silences")
async def silences_page(request: Request, viewer: Viewer = Depends(viewer)) -> Response:
    state = request.query_params.get("state", "active")
    place = paging(request)
    if state not in STATES or place is None:
        return error_page(viewer, 422, "Not a silence listing",
                          f"state is one of {', '.join(STATES)}; before_id is a silence id; limit is 1 to 200.")
    now = utcnow()

    def query() -> list[Silence]:
        with viewer.runtime.engine.connect() as conn:
            return store.list_silences(conn, viewer.runtime.tables, state, now, place.limit, place.before_id)

    rows = await run_in_threadpool(query)
    more = len(rows) > place.limit
    rows = rows[: place.limit]
    return viewer.page("console/silences.html.j2", title="Silences", nav="silences", flash=flash(request, DONE),
                       silences=[(s, s.status(now)) for s in rows], state=state, states=STATES,
                       limit=place.limit, next_before_id=rows[-1].id if more else None)


@router.get("/silences/new")
async def new_silence_page(request: Request, viewer: Viewer = Depends(viewer)) -> Response:
    """The form, prefilled from the URL (an issue's page links ``?fingerprint=...``); with matchers, what they
    match now. A GET never creates: "Preview" comes back here, "Create silence" posts."""
    return await _form_page(viewer, Draft.of(request.query_params))


@router.post("/silences")
async def create_silence(submitted: Submitted = Depends(form)) -> Response:
    viewer = submitted.viewer
    draft = Draft.of(submitted.fields)
    now = utcnow()
    try:
        checked = check(draft, now)

        def create() -> Silence:
            with viewer.runtime.engine.begin() as conn:
                return store.create(conn, viewer.runtime.tables, matchers=checked.matchers,
                                    starts_at=checked.starts_at, ends_at=checked.ends_at, comment=checked.comment,
                                    created_by=checked.author, now=utcnow())

        silence = await run_in_threadpool(create)
    except ValueError as exc:
        return await _form_page(viewer, draft, error=f"Not created: {exc}.", status=422)
    return viewer.redirect(f"{PREFIX}/silences?done=created&id={silence.id}")


@router.post("/silences/{silence_id}/expire")
async def expire_silence(silence_id: int = Path(ge=1, le=MAX_ID), submitted: Submitted = Depends(form)) -> Response:
    viewer = submitted.viewer

    def expire() -> Silence:
        with viewer.runtime.engine.begin() as conn:
            return store.expire(conn, viewer.runtime.tables, silence_id, utcnow())

    try:
        await run_in_threadpool(expire)
    except store.SilenceNotFound as exc:
        return error_page(viewer, 404, "No such silence", f"{sentence(exc)} Nothing was changed.")
    except store.AlreadyExpired as exc:
        return error_page(viewer, 409, "Already expired", f"{sentence(exc)} Nothing was changed.")
    return viewer.redirect(f"{PREFIX}/silences?done=expired&id={silence_id}")
