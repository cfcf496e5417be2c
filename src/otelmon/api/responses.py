"""The error answers each route declares in OpenAPI, so the document matches what the API sends."""

from __future__ import annotations

from typing import Any

from otelmon.api.schemas import Problem, RpcStatus
from otelmon.otlp.decode import JSON, PROTOBUF

Responses = dict[int | str, dict[str, Any]]

_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "integer"}}}


def otlp_status(description: str) -> dict[str, Any]:
    """An OTLP error: google.rpc.Status in the request's encoding."""
    return {
        "description": description,
        "content": {
            JSON: {"schema": RpcStatus.model_json_schema()},
            PROTOBUF: {"schema": {"type": "string", "format": "binary", "description": "google.rpc.Status"}},
        },
    }


def problem(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description}


UNAUTHORIZED: Responses = {
    401: problem("missing or wrong bearer token (only when OTELMON_INGEST_TOKEN is set)"),
}

DATABASE_UNAVAILABLE: Responses = {
    503: {**otlp_status("database unavailable; retry after Retry-After seconds"), "headers": _RETRY_AFTER},
}

PROTECTED: Responses = {**UNAUTHORIZED, **DATABASE_UNAVAILABLE}
"""Every route behind the token that touches the database."""
