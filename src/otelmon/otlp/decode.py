"""Turn an OTLP/HTTP request body into an ``ExportTraceServiceRequest``."""

from __future__ import annotations

import json

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from otelmon.config import Settings
from otelmon.otlp.decompress import decode_content
from otelmon.otlp.errors import MalformedPayload, UnsupportedMediaType
from otelmon.otlp.json_ids import rewrite_hex_ids
from otelmon.text import clip

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
# An error message echoes part of the input (a 300-digit number, say); the client needs the gist only.
_MESSAGE_CAP = 500


def media_type(content_type: str | None) -> str:
    """The bare media type, or raise 415 for anything OTLP/HTTP does not define."""
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    if kind not in (PROTOBUF, JSON):
        raise UnsupportedMediaType(
            f"unsupported Content-Type {content_type!r}; use {PROTOBUF} or {JSON}"
        )
    return kind


def body_limit(kind: str, settings: Settings) -> int:
    """The size cap, on the wire and once decompressed, for a body of this media type."""
    return min(settings.max_json_body_bytes, settings.max_body_bytes) if kind == JSON else settings.max_body_bytes


def decode_request(
    body: bytes, content_type: str, content_encoding: str | None, limit: int
) -> ExportTraceServiceRequest:
    kind = media_type(content_type)
    return parse_request(decode_content(body, content_encoding, limit), kind)


def parse_cost(size: int, kind: str) -> int:
    """What parsing an uncompressed body of ``size`` bytes costs in memory, in protobuf-body bytes (see
    ``otlp/budget.py``): measured, JSON takes about twice what the same spans take as protobuf
    (benchmarks/hostile_inputs.py)."""
    return size * (2 if kind == JSON else 1)


def parse_request(raw: bytes, kind: str) -> ExportTraceServiceRequest:
    """An uncompressed body of media type ``kind`` as an ``ExportTraceServiceRequest``; 400 if malformed."""
    request = ExportTraceServiceRequest()
    if kind == PROTOBUF:
        try:
            request.ParseFromString(raw)
        except (DecodeError, RuntimeWarning) as exc:
            raise MalformedPayload(f"invalid OTLP protobuf: {exc}") from None
        return request
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise MalformedPayload(clip(f"invalid JSON: {exc}", _MESSAGE_CAP)) from None
    rewrite_hex_ids(document)
    try:
        json_format.ParseDict(document, request, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        # OverflowError: a number past any integer field's range, such as "kind": 1e400.
        raise MalformedPayload(clip(f"invalid OTLP JSON: {exc}", _MESSAGE_CAP)) from None
    return request


def encode_response(kind: str, rejected_spans: int = 0, error_message: str = "") -> bytes:
    response = ExportTraceServiceResponse()
    if rejected_spans or error_message:
        response.partial_success.rejected_spans = rejected_spans
        response.partial_success.error_message = error_message
    if kind == PROTOBUF:
        return response.SerializeToString()
    return json_format.MessageToJson(response, indent=None).encode()
