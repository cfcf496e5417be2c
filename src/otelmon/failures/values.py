"""Conversions from OTLP protobuf values to plain Python values."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from typing import Any

EPOCH = datetime(1970, 1, 1)


def any_value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "int_value":
        return value.int_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "double_value":
        return value.double_value
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return None


def attributes_to_dict(attributes: Any) -> dict[str, Any]:
    return {kv.key: any_value(kv.value) for kv in attributes}


def from_unix_nanos(nanos: int) -> datetime | None:
    """Naive UTC with microseconds; built with timedelta so no float rounding creeps in."""
    if nanos <= 0:
        return None
    return EPOCH + timedelta(microseconds=nanos // 1000)


def to_naive_utc(moment: datetime) -> datetime:
    """Naive UTC; a moment whose UTC falls outside Python's years 1..9999 becomes the nearest end."""
    if moment.tzinfo is None:
        return moment
    try:
        return moment.astimezone(timezone.utc).replace(tzinfo=None)
    except OverflowError:  # 0001-01-01T00:00+01:00 is in year 0 in UTC
        return datetime.min if moment.year == 1 else datetime.max


def parse_time(value: Any) -> datetime | None:
    """Legacy ``etl.*_time`` values: ISO 8601 text, or epoch seconds / milliseconds / nanoseconds."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return _from_epoch_number(float(value))
    text = str(value).strip()
    if not text:
        return None
    try:
        return _from_epoch_number(float(text))
    except ValueError:
        pass
    try:
        return to_naive_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError:
        return None


def _from_epoch_number(number: float) -> datetime | None:
    if not math.isfinite(number) or number <= 0:
        return None
    if number > 1e17:
        number /= 1e9
    elif number > 1e11:
        number /= 1e3
    try:
        return EPOCH + timedelta(microseconds=round(number * 1e6))
    except OverflowError:
        return None


def as_text(value: Any) -> str | None:
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    return text if text.strip() else None


def as_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: a double infinity
        try:
            return int(float(value))
        except (TypeError, ValueError, OverflowError):  # "nan", "inf", not a number at all
            return None
