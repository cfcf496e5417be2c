"""The filters of the console's lists (a GET form): read from the query string, a blank field meaning "any".

A filter that cannot be read is answered with the list's page saying why (400), never a JSON error."""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from otelmon.api.schemas import IssueState, QueryDateTime

PAGE_SIZE = 50
_NAME = Field(None, max_length=255)
_CURSOR = Field(None, max_length=200)

Filters = TypeVar("Filters", bound=BaseModel)


class BadFilter(ValueError):
    """A filter of a console list that cannot be used; the message names it."""


class _Blank(BaseModel):
    # Unknown parameters are ignored: a bookmarked URL of an older version still opens.
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_any(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    def query(self, **changes: Any) -> dict[str, str]:
        """The filters as query parameters (blank ones left out), with ``changes`` applied."""
        values = {**self.model_dump(), **changes}
        return {key: value.isoformat() if hasattr(value, "isoformat") else str(value)
                for key, value in values.items() if value is not None}


class IssueFilters(_Blank):
    state: IssueState | None = None
    platform: str | None = _NAME
    group: str | None = _NAME
    process: str | None = _NAME
    cursor: str | None = _CURSOR


class FailureFilters(_Blank):
    since: QueryDateTime | None = None
    until: QueryDateTime | None = None
    platform: str | None = _NAME
    group: str | None = _NAME
    process: str | None = _NAME
    cursor: str | None = _CURSOR


def read_filters(request: Request, model: type[Filters]) -> Filters:
    """``model`` from the request's query string (the last value of a repeated parameter); BadFilter."""
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        name = ".".join(str(part) for part in first["loc"]) or "filter"
        raise BadFilter(f"The filter {name} cannot be used: {first['msg']}.") from None
