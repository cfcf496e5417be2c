"""OTLP request bodies built field by field, so a test can put any value where the SDK would refuse to."""

from __future__ import annotations

import base64
import gzip
import itertools
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

START_NANOS = 1_763_800_000_000_000_000
_ids = itertools.count(1)


def any_value(value: Any) -> AnyValue:
    out = AnyValue()
    if isinstance(value, bool):
        out.bool_value = value
    elif isinstance(value, int):
        out.int_value = value
    elif isinstance(value, float):
        out.double_value = value
    elif isinstance(value, bytes):
        out.bytes_value = value
    elif isinstance(value, list):
        out.array_value.values.extend(any_value(v) for v in value)
    else:
        out.string_value = value
    return out


def error_span(attributes: dict[str, Any], *, name: str = "load", start: int = START_NANOS,
               end: int | None = None) -> Span:
    """An ERROR span with fresh, unique non-zero ids."""
    n = next(_ids)
    span = Span(trace_id=n.to_bytes(16, "big"), span_id=n.to_bytes(8, "big"), name=name,
                start_time_unix_nano=start, end_time_unix_nano=start if end is None else end)
    span.status.code = Status.STATUS_CODE_ERROR
    span.status.message = "boom"
    for key, value in attributes.items():
        span.attributes.add(key=key).value.CopyFrom(any_value(value))
    return span


def request_of(*spans: Span, resource: dict[str, Any] | None = None) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    for key, value in (resource or {}).items():
        resource_spans.resource.attributes.add(key=key).value.CopyFrom(any_value(value))
    resource_spans.scope_spans.add().spans.extend(spans)
    return request


def otlp_json(request: ExportTraceServiceRequest) -> dict:
    """OTLP JSON as the spec writes it: hex ids (protobuf's JSON mapping has base64), camelCase,
    int64 as strings."""
    document = json_format.MessageToDict(request)
    for resource_spans in document.get("resourceSpans", []):
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64decode(span[key]).hex()
    return document


def protobuf(request: ExportTraceServiceRequest, *, compress: bool = False) -> bytes:
    body = request.SerializeToString()
    return gzip.compress(body) if compress else body
