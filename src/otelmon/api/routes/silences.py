"""``/api/v1/silences`` and ``POST /api/v1/issues/{fingerprint}/ack``: create, list and expire silences;
acknowledge an issue until it resolves or regresses."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool

from otelmon.api.deps import get_runtime, require_token
from otelmon.api.responses import problem
from otelmon.api.runtime import Runtime
from otelmon.api.schemas import MAX_ID, ReportedDateTime, UtcDateTime
from otelmon.clock import utcnow
from otelmon.silences import store
from otelmon.silences.model import (
    MAX_AUTHOR_CHARS,
    MAX_COMMENT_CHARS,
    MAX_PATTERN_CHARS,
    Silence,
    check_matchers,
    check_note,
    check_window,
)

router = APIRouter(prefix="/api/v1", tags=["silences"], dependencies=[Depends(require_token)])
_NOT_JSON = {400: problem("the body is not JSON")}

_FINGERPRINT = r"^[0-9a-f]{16}$"
Pattern = Field(None, min_length=1, max_length=MAX_PATTERN_CHARS, description="glob: * ? [abc]")


class Matchers(BaseModel):
    """Glob patterns (case-sensitive); a failure is silenced when every one given matches. At least one."""

    model_config = ConfigDict(extra="forbid")

    platform: str | None = Pattern
    group: str | None = Pattern
    process: str | None = Pattern
    error_type: str | None = Pattern
    fingerprint: str | None = Pattern

    def given(self) -> dict[str, str]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


class SilenceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    matchers: Matchers = Field(examples=[{"platform": "airflow", "group": "billing_*"}])
    starts_at: ReportedDateTime | None = Field(None, description="ISO 8601 (UTC without a zone); default now")
    ends_at: ReportedDateTime | None = Field(None, description="ISO 8601; or give `for` instead")
    duration: str | None = Field(None, alias="for", max_length=32, examples=["24h"],
                                 description="How long from starts_at: 30m, 24h, 7d, 1h30m; or give ends_at")
    comment: str = Field(min_length=1, max_length=MAX_COMMENT_CHARS, description="Why (required)")
    author: str = Field(min_length=1, max_length=MAX_AUTHOR_CHARS, description="Who (required)")

    @model_validator(mode="after")
    def _check(self) -> SilenceCreate:
        check_matchers(self.matchers.given())
        check_note(self.comment, self.author)
        self.starts_at, self.ends_at = check_window(self.starts_at, self.ends_at, self.duration, utcnow())
        return self


class AckCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    author: str = Field(min_length=1, max_length=255)
    comment: str = Field("Acknowledged", min_length=1, max_length=2000)


class SilenceItem(BaseModel):
    id: int
    kind: Literal["silence", "ack"]
    status: Literal["pending", "active", "expired"]
    matchers: dict[str, str]
    starts_at: UtcDateTime
    ends_at: UtcDateTime | None = Field(description="null: an acknowledgement, until the issue resolves or regresses")
    comment: str
    author: str
    created_at: UtcDateTime
    expired_at: UtcDateTime | None = Field(description="when it was ended early")

    @classmethod
    def of(cls, silence: Silence, now: datetime) -> SilenceItem:
        return cls(id=silence.id, kind=silence.kind, status=silence.status(now), matchers=silence.matchers,
                   starts_at=silence.starts_at, ends_at=silence.ends_at, comment=silence.comment,
                   author=silence.created_by, created_at=silence.created_at, expired_at=silence.expired_at)


class SilencePage(BaseModel):
    items: list[SilenceItem]
    next_before_id: int | None


@router.post("/silences", status_code=201, response_model=SilenceItem,
             responses={**_NOT_JSON, 422: {"description": "invalid silence; detail says which field and why"}},
             summary="Create a silence: matching failures are stored and shown, never notified, until it ends")
async def create_silence(body: SilenceCreate, runtime: Runtime = Depends(get_runtime)) -> SilenceItem:
    assert body.starts_at is not None and body.ends_at is not None  # set by the validator

    def create() -> Silence:
        with runtime.engine.begin() as conn:
            return store.create(conn, runtime.tables, matchers=body.matchers.given(), starts_at=body.starts_at,
                                ends_at=body.ends_at, comment=body.comment.strip(), created_by=body.author.strip(),
                                now=utcnow())

    try:
        silence = await run_in_threadpool(create)
    except ValueError as exc:  # the clock moved past ends_at between validation and insert
        raise HTTPException(422, str(exc)) from None
    return SilenceItem.of(silence, utcnow())


@router.get("/silences", response_model=SilencePage, summary="Silences, newest first")
async def list_silences(
    runtime: Runtime = Depends(get_runtime),
    state: Literal["active", "expired", "all"] = Query(
        "active", description="active: in effect now or later (status pending or active); expired: over"),
    limit: int = Query(100, ge=1, le=500),
    before_id: int | None = Query(None, ge=1, le=MAX_ID, description="Pass next_before_id for older silences"),
) -> SilencePage:
    def query() -> list[Silence]:
        with runtime.engine.connect() as conn:
            return store.list_silences(conn, runtime.tables, state, utcnow(), limit, before_id)

    rows = await run_in_threadpool(query)
    now = utcnow()
    more = len(rows) > limit
    rows = rows[:limit]
    return SilencePage(items=[SilenceItem.of(s, now) for s in rows], next_before_id=rows[-1].id if more else None)


@router.delete("/silences/{silence_id}", response_model=SilenceItem,
               responses={404: problem("no silence with this id"), 409: problem("the silence has already ended")},
               summary="Expire a silence now: failures from now on are notified again")
async def expire_silence(silence_id: int = Path(ge=1, le=MAX_ID),
                         runtime: Runtime = Depends(get_runtime)) -> SilenceItem:
    def expire() -> Silence:
        with runtime.engine.begin() as conn:
            return store.expire(conn, runtime.tables, silence_id, utcnow())

    try:
        silence = await run_in_threadpool(expire)
    except store.SilenceNotFound as exc:
        raise HTTPException(404, str(exc)) from None
    except store.AlreadyExpired as exc:
        raise HTTPException(409, str(exc)) from None
    return SilenceItem.of(silence, utcnow())


@router.post("/issues/{fingerprint}/ack", status_code=201, response_model=SilenceItem,
             responses={**_NOT_JSON,
                        200: {"model": SilenceItem, "description": "already acknowledged: that acknowledgement"}},
             summary="Acknowledge an issue (a fingerprint): its failures are silenced until it resolves or regresses")
async def acknowledge_issue(body: AckCreate, fingerprint: str = Path(pattern=_FINGERPRINT),
                            runtime: Runtime = Depends(get_runtime)) -> JSONResponse:
    def ack() -> tuple[Silence, bool]:
        with runtime.engine.begin() as conn:
            return store.acknowledge(conn, runtime.tables, fingerprint, comment=body.comment.strip(),
                                     created_by=body.author.strip(), now=utcnow())

    silence, created = await run_in_threadpool(ack)
    item = SilenceItem.of(silence, utcnow())
    return JSONResponse(item.model_dump(mode="json"), status_code=201 if created else 200)


