"""The receiver end to end: the SDK's own OTLP exporter -> uvicorn -> MariaDB."""

import gzip
import json

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.trace.export import SpanExportResult
from sqlalchemy import create_engine, text

from tests.harness.spans import SpanFactory, protobuf_body

PIPELINE = {"otelmon.platform": "airflow", "otelmon.group": "daily_sales", "otelmon.process": "load",
            "otelmon.run_id": "scheduled__2026-11-22", "otelmon.try_number": 1}


def failures_in(url):
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(text("SELECT * FROM failures ORDER BY id"))]
    finally:
        engine.dispose()


def sdk_exporter(api, **kwargs):
    return OTLPSpanExporter(endpoint=f"{api.url}/v1/traces", compression=Compression.Gzip, timeout=10, **kwargs)


def test_one_error_among_500_ok_spans_is_one_failure(api_server, mariadb_url):
    spans = SpanFactory("airflow-worker", {"host.name": "worker-1"})
    for n in range(250):
        spans.ok(f"ok-{n}")
    spans.failing("load", PIPELINE, ValueError("duplicate key 'x'"))
    for n in range(250):
        spans.ok(f"ok-late-{n}")
    batch = spans.take()
    assert len(batch) == 501
    assert sdk_exporter(api_server).export(batch) == SpanExportResult.SUCCESS

    rows = failures_in(mariadb_url)
    assert len(rows) == 1
    row = rows[0]
    assert (row["platform"], row["group_name"], row["process_name"]) == ("airflow", "daily_sales", "load")
    assert (row["run_id"], row["try_number"]) == ("scheduled__2026-11-22", 1)
    assert (row["error_type"], row["error_message"]) == ("ValueError", "duplicate key 'x'")
    assert "Traceback" in row["stacktrace"] and row["host"] == "worker-1"
    assert row["trace_id"] == format(batch[250].context.trace_id, "032x")
    assert row["start_time"].microsecond == (batch[250].start_time // 1000) % 1_000_000

    metrics = httpx.get(f"{api_server.url}/metrics").text
    assert "otelmon_spans_received_total 501.0" in metrics
    assert "otelmon_failures_stored_total 1.0" in metrics


def test_same_batch_delivered_twice_adds_no_row(api_server, mariadb_url):
    spans = SpanFactory()
    spans.failing("load", PIPELINE)
    spans.failing("no-run-id")
    body = gzip.compress(protobuf_body(spans.take()))
    headers = {"content-type": "application/x-protobuf", "content-encoding": "gzip"}
    for _ in range(2):
        response = httpx.post(f"{api_server.url}/v1/traces", content=body, headers=headers)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/x-protobuf"
        assert ExportTraceServiceResponse.FromString(response.content).partial_success.rejected_spans == 0
    assert len(failures_in(mariadb_url)) == 2
    assert "otelmon_failures_duplicate_total 2.0" in httpx.get(f"{api_server.url}/metrics").text


def test_legacy_etl_spans_keep_working(api_server, mariadb_url):
    spans = SpanFactory("legacy-etl")
    legacy = {"etl.platform": "nifi", "etl.group_name": "orders", "etl.process_name": "PutSQL",
              "etl.error": "ORA-00001: unique constraint", "etl.error_type": "SQLException",
              "etl.stacktrace": "java.sql.SQLException\n\tat Foo.bar(Foo.java:1)"}
    with spans.tracer.start_as_current_span("PutSQL", attributes=legacy) as span:
        from opentelemetry.trace import Status, StatusCode

        span.set_status(Status(StatusCode.ERROR))
    assert sdk_exporter(api_server).export(spans.take()) == SpanExportResult.SUCCESS
    (row,) = failures_in(mariadb_url)
    assert (row["platform"], row["group_name"], row["process_name"]) == ("nifi", "orders", "PutSQL")
    assert (row["error_type"], row["error_message"]) == ("SQLException", "ORA-00001: unique constraint")
    assert row["stacktrace"].startswith("java.sql.SQLException")


def test_otlp_json_with_upper_case_hex_ids_answers_json(api_server, mariadb_url):
    document = {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "shell"}}]},
        "scopeSpans": [{"scope": {"name": "curl"}, "spans": [
            {"traceId": "5B8EFFF798038103D269B633813FC60C", "spanId": "EEE19B7EC3C1B174", "name": "nightly.sh",
             "startTimeUnixNano": "1763800000000000000", "endTimeUnixNano": 1763800003000000000,
             "status": {"code": 2, "message": "exit 3"}, "kind": 1, "unknownField": True},
            {"traceId": "5B8EFFF798038103D269B633813FC60C", "spanId": "0000000000000000", "name": "bad",
             "status": {"code": "STATUS_CODE_ERROR"}},
        ]}]}]}
    response = httpx.post(f"{api_server.url}/v1/traces", json=document)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    partial = response.json()["partialSuccess"]
    assert int(partial["rejectedSpans"]) == 1 and "span id" in partial["errorMessage"]
    (row,) = failures_in(mariadb_url)
    assert (row["trace_id"], row["span_id"]) == ("5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174")
    assert (row["group_name"], row["process_name"], row["error_message"]) == ("shell", "nightly.sh", "exit 3")


@pytest.mark.parametrize(
    ("body", "headers", "status"),
    [
        (b"\x0a\xff\xff\xff\xff\x0fjunk", {"content-type": "application/x-protobuf"}, 400),
        (b'{"resourceSpans": [', {"content-type": "application/json"}, 400),
        (b"{}", {"content-type": "text/plain"}, 415),
        (b"{}", {"content-type": "application/json", "content-encoding": "br"}, 415),
        (gzip.compress(b"\0" * 5_000_000), {"content-type": "application/x-protobuf", "content-encoding": "gzip"}, 413),
        (b"\0" * 2_000_000, {"content-type": "application/x-protobuf"}, 413),
    ],
    ids=["bad-protobuf", "bad-json", "wrong-type", "wrong-encoding", "gzip-bomb", "oversized"],
)
def test_bad_input_gets_a_clear_status_and_nothing_is_stored(start_api, mariadb_url, body, headers, status):
    api = start_api({"OTELMON_DATABASE_URL": mariadb_url, "OTELMON_MAX_BODY_BYTES": str(1024 * 1024)})
    response = httpx.post(f"{api.url}/v1/traces", content=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.content  # a message says what was wrong
    assert failures_in(mariadb_url) == []
    # ... and the server is fine afterwards.
    assert httpx.get(f"{api.url}/healthz").status_code == 200


def test_ingest_token(start_api, mariadb_url):
    api = start_api({"OTELMON_DATABASE_URL": mariadb_url, "OTELMON_INGEST_TOKEN": "s3cret-token"})
    spans = SpanFactory()
    spans.failing("load", PIPELINE)
    batch = spans.take()
    body = protobuf_body(batch)
    ctype = {"content-type": "application/x-protobuf"}
    assert httpx.post(f"{api.url}/v1/traces", content=body, headers=ctype).status_code == 401
    wrong = {**ctype, "authorization": "Bearer nope"}
    assert httpx.post(f"{api.url}/v1/traces", content=body, headers=wrong).status_code == 401
    assert httpx.get(f"{api.url}/api/v1/failures").status_code == 401
    assert failures_in(mariadb_url) == []
    exporter = sdk_exporter(api, headers={"Authorization": "Bearer s3cret-token"})
    assert exporter.export(batch) == SpanExportResult.SUCCESS
    assert len(failures_in(mariadb_url)) == 1
    assert httpx.get(f"{api.url}/healthz").status_code == 200  # probes need no token


def test_json_error_bodies_are_json(api_server):
    response = httpx.post(f"{api_server.url}/v1/traces", content=b"[1]", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert "OTLP JSON" in json.loads(response.content)["message"]
