"""Failure <-> row conversion, fitting values to the column sizes the schema declares."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Table

from otelmon.failures.model import Failure
from otelmon.text import clip

# MEDIUMTEXT holds 16 MiB; these caps keep one runaway span from filling a row (and an email).
TEXT_CAPS = {"error_message": 64 * 1024, "stacktrace": 1024 * 1024, "attributes": 256 * 1024}
_ATTRIBUTE_VALUE_CAP = 4096


def _attributes_json(attributes: dict[str, Any], limit: int) -> str:
    def shrink(value: Any) -> Any:
        if isinstance(value, str):
            return clip(value, _ATTRIBUTE_VALUE_CAP)
        if isinstance(value, dict):
            return {key: shrink(v) for key, v in value.items()}
        if isinstance(value, list):
            return [shrink(v) for v in value[:100]]
        return value

    encoded = json.dumps(shrink(attributes), ensure_ascii=False, default=str)
    if len(encoded) <= limit:
        return encoded
    return json.dumps({"truncated": True, "size": len(encoded)})


def failure_row(table: Table, failure: Failure, received_at: datetime, ingest_id: str) -> dict[str, Any]:
    row = {
        "identity_key": failure.identity_key,
        "fingerprint": failure.fingerprint,
        "platform": failure.platform,
        "group_name": failure.group,
        "process_name": failure.process,
        "run_id": failure.run_id,
        "try_number": failure.try_number,
        "trace_id": failure.trace_id,
        "span_id": failure.span_id,
        "parent_span_id": failure.parent_span_id,
        "service_name": failure.service_name,
        "span_name": failure.span_name,
        "host": failure.host,
        "error_type": failure.error_type,
        "error_message": failure.error_message,
        "stacktrace": failure.stacktrace,
        "start_time": failure.start_time,
        "end_time": failure.end_time,
        "received_at": received_at,
        "ingest_id": ingest_id,
        "attributes": _attributes_json(failure.attributes, TEXT_CAPS["attributes"]),
        "digest_id": None,
    }
    for name, value in row.items():
        if isinstance(value, str):
            limit = getattr(table.c[name].type, "length", None) or TEXT_CAPS.get(name)
            row[name] = clip(value, limit)
    return row


def row_to_dict(row: Any, *, full: bool) -> dict[str, Any]:
    """The API's view of a row; ``full`` adds the stack trace and attributes."""
    data = dict(row._mapping)
    out = {
        "id": data["id"],
        "fingerprint": data["fingerprint"],
        "platform": data["platform"],
        "group": data["group_name"],
        "process": data["process_name"],
        "run_id": data["run_id"],
        "try_number": data["try_number"],
        "trace_id": data["trace_id"],
        "span_id": data["span_id"],
        "service_name": data["service_name"],
        "span_name": data["span_name"],
        "host": data["host"],
        "error_type": data["error_type"],
        "error_message": data["error_message"],
        "start_time": data["start_time"],
        "end_time": data["end_time"],
        "duration_seconds": (data["end_time"] - data["start_time"]).total_seconds(),
        "received_at": data["received_at"],
        "digest_id": data["digest_id"],
    }
    if full:
        out["parent_span_id"] = data["parent_span_id"]
        out["stacktrace"] = data["stacktrace"]
        try:
            out["attributes"] = json.loads(data["attributes"]) if data["attributes"] else {}
        except ValueError:
            out["attributes"] = {}
    return out
