"""Values no column can hold are fitted or reported in partial_success: never a 5xx (issue 12)."""

from __future__ import annotations

import json
import math
from datetime import datetime

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from otelmon.failures.values import as_int, parse_time, to_naive_utc
from tests.ingest.otlp_bodies import error_span, protobuf, request_of

PROTOBUF = {"content-type": "application/x-protobuf"}
RUN = {"otelmon.platform": "airflow", "otelmon.group": "dag", "otelmon.process": "load", "otelmon.run_id": "r1"}
INT_MAX = 2**31 - 1
OLDEST, NEWEST = datetime(1000, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999)


def stored(client) -> list[dict]:
    page = client.get("/api/v1/failures", params={"limit": 500})
    assert page.status_code == 200, page.text
    details = [client.get(f"/api/v1/failures/{item['id']}") for item in page.json()["items"]]
    assert all(d.status_code == 200 for d in details), [d.text for d in details]
    return [d.json() for d in details]


def export(client, *spans, **kwargs) -> ExportTraceServiceResponse:
    answer = client.post("/v1/traces", content=protobuf(request_of(*spans, **kwargs)), headers=PROTOBUF)
    assert answer.status_code == 200, answer.content
    return ExportTraceServiceResponse.FromString(answer.content)


@pytest.mark.parametrize(
    ("try_number", "expected"),
    [
        (math.inf, None),
        (-math.inf, None),
        (math.nan, None),
        ("100000000000000000000", INT_MAX),
        ("-100000000000000000000", -(2**31)),
        (2**40, INT_MAX),
        (2**63 - 1, INT_MAX),
        ("1e400", None),
        ("7" * 5000, None),
        (3.0, 3),
    ],
)
def test_try_number_out_of_range_is_clamped_and_stored(client, try_number, expected):
    assert export(client, error_span({**RUN, "otelmon.try_number": try_number})).partial_success.rejected_spans == 0
    [failure] = stored(client)
    assert failure["try_number"] == expected


def api_time(text: str) -> datetime:
    assert text.endswith("Z"), text
    return datetime.fromisoformat(text).replace(tzinfo=None)


@pytest.mark.parametrize(
    ("start_time", "expected"),
    [
        ("0001-01-01T00:00:00+01:00", OLDEST),
        ("0001-01-01T00:00:00", OLDEST),
        ("0999-12-31T23:59:59", OLDEST),
        ("9999-12-31T23:59:59-01:00", NEWEST),
        ("2026-11-22T10:00:00.123456+02:00", datetime(2026, 11, 22, 8, 0, 0, 123456)),
        (1e300, None),
    ],
)
def test_legacy_times_outside_the_datetime_range_are_clamped(client, start_time, expected):
    span = error_span({**RUN, "etl.start_time": start_time, "etl.end_time": "2026-11-22T10:00:00Z"}, start=0, end=0)
    export(client, span)
    [failure] = stored(client)
    end = datetime(2026, 11, 22, 10)
    # The API answers UTC with Z; the database holds naive UTC.
    assert api_time(failure["start_time"]) == (expected or end)
    assert api_time(failure["end_time"]) == end


@pytest.mark.parametrize("start_time", [math.nan, "NaN", math.inf, "-inf", ""])
def test_a_span_without_a_usable_time_is_reported_in_partial_success(client, start_time):
    response = export(client, error_span({**RUN, "etl.start_time": start_time}, start=0, end=0))
    assert response.partial_success.rejected_spans == 1
    assert "no start or end time" in response.partial_success.error_message
    assert stored(client) == []


@pytest.mark.parametrize("nanos", [1, 2**63, 2**64 - 1])
def test_nanosecond_times_at_the_edges_of_fixed64(client, nanos):
    export(client, error_span(RUN, start=nanos, end=nanos))
    [failure] = stored(client)
    assert api_time(failure["start_time"]) <= NEWEST


def test_strings_longer_than_their_columns_are_cut_and_odd_values_read_back(client):
    long_text = "\u00e9\U0001f600" * 400  # 800 characters, 4-byte ones among them
    span = error_span({
        **RUN, "otelmon.platform": long_text, "otelmon.group": long_text, "otelmon.process": long_text,
        "otelmon.run_id": long_text, "host.name": long_text, "nan": math.nan, "inf": -math.inf,
        "nul": "a\x00b", "big": 2**63 - 1, "airflow.task_instance.map_index": 2**62,
    }, name=long_text)
    export(client, span, resource={"service.name": long_text})
    [failure] = stored(client)
    assert len(failure["platform"]) == 64 and len(failure["group"]) == 255 and len(failure["run_id"]) == 255
    assert failure["attributes"]["span"]["nan"] == "nan" and failure["attributes"]["span"]["big"] == 2**63 - 1


@pytest.mark.parametrize(
    "document",
    [
        '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"%s","spanId":"%s","kind":1e400,'
        '"status":{"code":2},"startTimeUnixNano":"1"}]}]}]}',
        '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"%s","spanId":"%s",'
        '"status":{"code":-1e400},"startTimeUnixNano":"1"}]}]}]}',
        '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"%s","spanId":"%s","status":{"code":2},'
        '"startTimeUnixNano":"1","attributes":[{"key":"k","value":{"intValue":"99999999999999999999"}}]}]}]}]}',
    ],
)
def test_otlp_json_numbers_past_their_field_are_a_400(client, document):
    answer = client.post("/v1/traces", content=document % ("ab" * 16, "cd" * 8),
                         headers={"content-type": "application/json"})
    assert answer.status_code == 400
    assert answer.json()["message"].startswith("invalid OTLP JSON")


def test_json_failure_report_with_out_of_range_values_is_a_422_naming_them(client):
    # A report is one failure sent by a person's script: telling it what is wrong beats storing a clamped
    # guess (docs/design.md "Changes to the contracts"). OTLP batches, which cannot be answered per value,
    # are clamped instead (above).
    report = {"platform": "cron", "group": "nightly", "process": "export", "run_id": "r1", "try_number": 2**40,
              "start_time": "0001-01-01T00:00:00+01:00", "end_time": "9999-12-31T23:59:59-01:00"}
    answer = client.post("/api/v1/process-failure", content=json.dumps(report))
    assert answer.status_code == 422, answer.text
    assert {tuple(e["loc"]) for e in answer.json()["detail"]} >= {("try_number",), ("start_time",)}
    assert stored(client) == []


def test_value_conversions_never_raise():
    assert [as_int(v) for v in (math.inf, math.nan, "1e400", "12", 7.9, True)] == [None, None, None, 12, 7, None]
    assert parse_time(math.nan) is None and parse_time("nan") is None and parse_time(-math.inf) is None
    assert to_naive_utc(datetime.fromisoformat("0001-01-01T00:00:00+01:00")) == datetime.min
    assert to_naive_utc(datetime.fromisoformat("9999-12-31T23:59:59-01:00")) == datetime.max
