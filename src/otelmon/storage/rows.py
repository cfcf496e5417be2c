"""Failure <-> row conversion, fitting values to the column sizes the schema declares."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Table

from otelmon.failures.log_tail import STORED_BYTES
from otelmon.failures.model import Failure
from otelmon.runs.model import Run
from otelmon.text import clip

FailureOrRun = TypeVar("FailureOrRun", Failure, Run)

# MEDIUMTEXT holds 16 MiB; these caps keep one runaway span from filling a row (and an email).
TEXT_CAPS = {"error_message": 64 * 1024, "stacktrace": 1024 * 1024, "attributes": 256 * 1024,
             "log_tail": STORED_BYTES}
_ATTRIBUTE_VALUE_CAP = 4096
# What every backend can hold: MariaDB's INT and DATETIME ranges (SQLite's are wider).
INT_RANGE = (-(2**31), 2**31 - 1)
DATETIME_RANGE = (datetime(1000, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999))


def fit_try(record: FailureOrRun) -> FailureOrRun:
    """The failure or run with every number and time moved into the range its column holds.

    Done before a record joins a shared transaction, so a value the database would refuse never fails
    the batches committed with it; strings are fitted when the row is built (``failure_row``, ``run_row``).
    """
    try_number = record.try_number
    if try_number is not None:
        try_number = min(max(try_number, INT_RANGE[0]), INT_RANGE[1])
    start, end = (min(max(t, DATETIME_RANGE[0]), DATETIME_RANGE[1]) for t in (record.start_time, record.end_time))
    if (try_number, start, end) == (record.try_number, record.start_time, record.end_time):
        return record
    return dataclasses.replace(record, try_number=try_number, start_time=start, end_time=end)


def fit_failure(failure: Failure) -> Failure:
    return fit_try(failure)


def _storable_text(text: str) -> str:
    # Lone surrogates (JSON "\ud800") have no UTF-8 form: the driver would fail the whole statement.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def _attributes_json(attributes: dict[str, Any], limit: int) -> str:
    def shrink(value: Any) -> Any:
        if isinstance(value, str):
            return clip(value, _ATTRIBUTE_VALUE_CAP)
        if isinstance(value, dict):
            return {key: shrink(v) for key, v in value.items()}
        if isinstance(value, list):
            return [shrink(v) for v in value[:100]]
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)  # NaN and Infinity are not JSON: readers of the row would choke
        return value

    encoded = json.dumps(shrink(attributes), ensure_ascii=False, default=str, allow_nan=False)
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
        "log_tail": failure.log_tail,
        "will_retry": failure.will_retry,
    }
    return _fitted_strings(table, row)


def run_row(table: Table, run: Run, received_at: datetime, ingest_id: str,
            identity_key: str | None = None) -> dict[str, Any]:
    row = {
        "identity_key": identity_key or run.identity_key,
        "platform": run.platform,
        "group_name": run.group,
        "process_name": run.process,
        "run_id": run.run_id,
        "try_number": run.try_number,
        "start_time": run.start_time,
        "end_time": run.end_time,
        "outcome": run.outcome,
        "trace_id": run.trace_id,
        "span_id": run.span_id,
        "fingerprint": run.fingerprint,
        "received_at": received_at,
        "ingest_id": ingest_id,
    }
    return _fitted_strings(table, row)


def _fitted_strings(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    for name, value in row.items():
        if isinstance(value, str):
            limit = getattr(table.c[name].type, "length", None) or TEXT_CAPS.get(name)
            row[name] = _storable_text(clip(value, limit))
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
        "will_retry": bool(data.get("will_retry")),
    }
    if full:
        out["parent_span_id"] = data["parent_span_id"]
        out["stacktrace"] = data["stacktrace"]
        tail = data.get("log_tail")
        out["log_tail"] = tail.splitlines() if tail else None
        try:
            out["attributes"] = json.loads(data["attributes"]) if data["attributes"] else {}
        except ValueError:
            out["attributes"] = {}
    return out
