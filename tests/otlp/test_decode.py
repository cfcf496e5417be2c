import gzip
import json

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from otelmon.otlp.decode import JSON, PROTOBUF, decode_request, encode_response, media_type
from otelmon.otlp.errors import MalformedPayload, PayloadTooLarge, UnsupportedMediaType

LIMIT = 1024 * 1024


def otlp_json(trace_id="5B8EFFF798038103D269B633813FC60C", span_id="EEE19B7EC3C1B174", **span_extra):
    span = {
        "traceId": trace_id,
        "spanId": span_id,
        "name": "load",
        "kind": 1,
        "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": 1700000001500000000,
        "status": {"code": 2, "message": "boom"},
        "attributes": [{"key": "otelmon.try_number", "value": {"intValue": "3"}}],
        "someFutureField": {"x": 1},
        **span_extra,
    }
    return {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": [span]}]}]}


def test_json_upper_case_hex_ids_and_mixed_int64_and_integer_enums():
    body = json.dumps(otlp_json()).encode()
    request = decode_request(body, "application/json; charset=utf-8", None, LIMIT)
    span = request.resource_spans[0].scope_spans[0].spans[0]
    assert span.trace_id.hex() == "5b8efff798038103d269b633813fc60c"
    assert span.span_id.hex() == "eee19b7ec3c1b174"
    assert span.start_time_unix_nano == 1700000000000000000
    assert span.end_time_unix_nano == 1700000001500000000
    assert span.status.code == 2
    assert span.attributes[0].value.int_value == 3


def test_json_link_ids_are_hex_too():
    body = json.dumps(otlp_json(links=[{"traceId": "AB" * 16, "spanId": "cd" * 8}])).encode()
    span = decode_request(body, JSON, None, LIMIT).resource_spans[0].scope_spans[0].spans[0]
    assert span.links[0].trace_id == bytes.fromhex("ab" * 16)


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", json.dumps(otlp_json(trace_id="zz")).encode(), b'{"resourceSpans": 5}',
     json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{"name": 5, "kind": "NOPE"}]}]}]}).encode()],
)
def test_malformed_json_is_400(body):
    with pytest.raises(MalformedPayload):
        decode_request(body, JSON, None, LIMIT)


def test_malformed_protobuf_is_400():
    with pytest.raises(MalformedPayload):
        decode_request(b"\x0a\xff\xff\xff\xff\x0f garbage", PROTOBUF, None, LIMIT)


def test_gzip_roundtrip_and_bomb():
    request = ExportTraceServiceRequest()
    request.resource_spans.add().scope_spans.add().spans.add(name="x", trace_id=b"\x01" * 16, span_id=b"\x02" * 8)
    raw = request.SerializeToString()
    assert decode_request(gzip.compress(raw), PROTOBUF, "gzip", LIMIT) == request
    bomb = gzip.compress(b"\0" * (LIMIT * 8))
    assert len(bomb) < LIMIT // 50
    with pytest.raises(PayloadTooLarge):
        decode_request(bomb, PROTOBUF, "gzip", LIMIT)


def test_multi_member_gzip_counts_against_one_budget():
    member = gzip.compress(b"\0" * (LIMIT // 2 + 10))
    with pytest.raises(PayloadTooLarge):
        decode_request(member + member, PROTOBUF, "gzip", LIMIT)


def test_truncated_gzip_and_unknown_encoding():
    with pytest.raises(MalformedPayload):
        decode_request(gzip.compress(b"abc" * 100)[:-12], PROTOBUF, "gzip", LIMIT)
    with pytest.raises(UnsupportedMediaType):
        decode_request(b"", PROTOBUF, "br", LIMIT)


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/grpc", "application/xml"])
def test_unknown_content_type_is_415(content_type):
    with pytest.raises(UnsupportedMediaType):
        media_type(content_type)


def test_response_in_both_encodings_reports_partial_success():
    decoded = ExportTraceServiceResponse.FromString(encode_response(PROTOBUF, 2, "bad ids"))
    assert decoded.partial_success.rejected_spans == 2
    assert json.loads(encode_response(JSON, 2, "bad ids"))["partialSuccess"]["rejectedSpans"] in (2, "2")
    assert ExportTraceServiceResponse.FromString(encode_response(PROTOBUF)) == ExportTraceServiceResponse()
