"""OTLP JSON writes trace and span ids as hex; protobuf's JSON mapping expects base64 for bytes.

The OTLP spec calls this out as the one deviation from the standard proto3 JSON mapping, so the ids are
rewritten in place before ``json_format`` parses the document.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from otelmon.otlp.errors import MalformedPayload

_ID_FIELDS = ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")


def rewrite_hex_ids(document: Any) -> None:
    if not isinstance(document, dict):
        raise MalformedPayload("OTLP JSON body must be an object")
    for resource_spans in _items(document, "resourceSpans", "resource_spans"):
        for scope_spans in _items(resource_spans, "scopeSpans", "scope_spans"):
            for span in _items(scope_spans, "spans"):
                _rewrite(span)
                for link in _items(span, "links"):
                    _rewrite(link)


def _items(obj: Any, *keys: str) -> list:
    if not isinstance(obj, dict):
        raise MalformedPayload("OTLP JSON: expected an object")
    for key in keys:
        value = obj.get(key)
        if value is None:
            continue
        if not isinstance(value, list):
            raise MalformedPayload(f"OTLP JSON: {key!r} must be an array")
        return value
    return []


def _rewrite(obj: Any) -> None:
    if not isinstance(obj, dict):
        raise MalformedPayload("OTLP JSON: span and link entries must be objects")
    for key in _ID_FIELDS:
        value = obj.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise MalformedPayload(f"OTLP JSON: {key} must be a hex string")
        try:
            obj[key] = base64.b64encode(binascii.unhexlify(value)).decode("ascii")
        except (binascii.Error, ValueError):
            raise MalformedPayload(f"OTLP JSON: {key} {value[:40]!r} is not hex") from None
