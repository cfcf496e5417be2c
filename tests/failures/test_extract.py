from datetime import datetime

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from otelmon.failures.extract import extract_failures

TRACE = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")


def kv(key, value):
    item = KeyValue(key=key)
    if isinstance(value, bool):
        item.value.bool_value = value
    elif isinstance(value, int):
        item.value.int_value = value
    else:
        item.value.string_value = value
    return item


def request_with(spans, resource=None):
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    for key, value in (resource or {"service.name": "svc"}).items():
        rs.resource.attributes.append(kv(key, value))
    scope = rs.scope_spans.add()
    for n, spec in enumerate(spans, start=1):
        span = scope.spans.add(
            name=spec.get("name", "step"),
            trace_id=spec.get("trace_id", TRACE),
            span_id=spec.get("span_id", n.to_bytes(8, "big")),
            start_time_unix_nano=spec.get("start", 1_700_000_000_123_456_789),
            end_time_unix_nano=spec.get("end", 1_700_000_002_000_000_000),
        )
        span.status.code = spec.get("status", Status.STATUS_CODE_ERROR)
        span.status.message = spec.get("message", "")
        for key, value in spec.get("attrs", {}).items():
            span.attributes.append(kv(key, value))
        for event in spec.get("events", []):
            ev = span.events.add(name=event["name"])
            for key, value in event.get("attrs", {}).items():
                ev.attributes.append(kv(key, value))
    return request


def test_only_error_spans_become_failures_and_all_spans_are_counted():
    result = extract_failures(request_with([{"status": Status.STATUS_CODE_OK}, {"status": 0}, {}]))
    assert result.spans_seen == 3
    assert len(result.failures) == 1


def test_otelmon_attributes_win_span_over_resource():
    spans = [{"attrs": {"otelmon.group": "daily_sales", "otelmon.process": "load", "otelmon.run_id": "r1",
                        "otelmon.try_number": 2}}]
    f = extract_failures(request_with(spans, {"service.name": "svc", "otelmon.platform": "airflow",
                                               "otelmon.group": "resource_group"})).failures[0]
    assert (f.platform, f.group, f.process, f.run_id, f.try_number) == ("airflow", "daily_sales", "load", "r1", 2)


def test_exception_event_beats_status_message_and_legacy():
    spans = [{"message": "status text", "attrs": {"etl.error": "legacy", "etl.error_type": "LegacyError"},
              "events": [{"name": "exception", "attrs": {"exception.type": "KeyError", "exception.message": "k",
                                                          "exception.stacktrace": "Traceback..."}}]}]
    f = extract_failures(request_with(spans)).failures[0]
    assert (f.error_type, f.error_message, f.stacktrace) == ("KeyError", "k", "Traceback...")


def test_status_message_then_legacy_error_attributes():
    f = extract_failures(request_with([{"message": "status text"}])).failures[0]
    assert f.error_message == "status text"
    legacy = {"etl.platform": "nifi", "etl.group_name": "ingest", "etl.process_name": "PutSQL",
              "etl.error": "duplicate key", "etl.error_type": "SQLException", "etl.stacktrace": "at x.y",
              "etl.start_time": "2024-05-01T10:00:00+02:00", "etl.end_time": "2024-05-01 08:00:05.250000"}
    f = extract_failures(request_with([{"attrs": legacy, "start": 0, "end": 0}])).failures[0]
    assert (f.platform, f.group, f.process) == ("nifi", "ingest", "PutSQL")
    assert (f.error_type, f.error_message, f.stacktrace) == ("SQLException", "duplicate key", "at x.y")
    assert f.start_time == datetime(2024, 5, 1, 8, 0, 0)
    assert f.end_time == datetime(2024, 5, 1, 8, 0, 5, 250000)


def test_airflow_native_and_nifi_attributes_and_fallbacks():
    airflow = {"airflow.dag_id": "etl", "airflow.task_id": "extract", "airflow.dag_run.run_id": "manual__1",
               "airflow.task_instance.try_number": 3}
    f = extract_failures(request_with([{"attrs": airflow}])).failures[0]
    assert (f.platform, f.group, f.process, f.run_id, f.try_number) == ("airflow", "etl", "extract", "manual__1", 3)
    nifi = {"nifi.process_group.name": "Orders", "nifi.processor.name": "PutDatabaseRecord"}
    f = extract_failures(request_with([{"attrs": nifi}])).failures[0]
    assert (f.platform, f.group, f.process) == ("nifi", "Orders", "PutDatabaseRecord")
    f = extract_failures(request_with([{"name": "GET /orders"}], {"service.name": "orders-api"})).failures[0]
    assert (f.platform, f.group, f.process) == ("otel", "orders-api", "GET /orders")


def test_times_are_utc_with_microseconds():
    f = extract_failures(request_with([{}])).failures[0]
    assert f.start_time == datetime(2023, 11, 14, 22, 13, 20, 123456)
    assert (f.end_time - f.start_time).total_seconds() == 1.876544


def test_identity_one_try_is_one_failure_and_fingerprint_ignores_run():
    attrs = {"otelmon.platform": "airflow", "otelmon.group": "g", "otelmon.process": "p", "otelmon.run_id": "r",
             "otelmon.try_number": 1}
    outer, inner = extract_failures(request_with([{"attrs": attrs}, {"attrs": attrs, "name": "sub"}])).failures
    assert outer.identity_key == inner.identity_key  # two spans of one try
    retry = extract_failures(request_with([{"attrs": {**attrs, "otelmon.try_number": 2}}])).failures[0]
    assert retry.identity_key != outer.identity_key  # a retry is a new failure
    assert retry.fingerprint == outer.fingerprint  # ... of the same kind
    a, b = extract_failures(request_with([{}, {}])).failures  # no run id: per span
    assert a.identity_key != b.identity_key


def test_invalid_ids_are_rejected_not_fatal():
    result = extract_failures(request_with([{"trace_id": b"\x00" * 16}, {"span_id": b"abc"}, {}]))
    assert len(result.failures) == 1
    assert result.rejected == 2
    assert "trace id" in result.reasons[0]


def test_airflow_native_mapped_instances_are_separate_and_non_failures_are_dropped():
    base = {"airflow.dag_id": "etl", "airflow.task_id": "transform", "airflow.dag_run.run_id": "r",
            "airflow.task_instance.try_number": 1}
    spans = [{"attrs": {**base, "airflow.task_instance.map_index": 0}},
             {"attrs": {**base, "airflow.task_instance.map_index": 1}},
             {"attrs": {**base, "airflow.task_instance.map_index": -1}},
             {"attrs": {**base, "airflow.task_instance.state": "upstream_failed"}},
             {"attrs": {**base, "airflow.task_instance.state": "skipped"}},
             {"attrs": {**base, "airflow.task_instance.state": "failed"}}]
    result = extract_failures(request_with(spans))
    assert [f.process for f in result.failures] == ["transform[0]", "transform[1]", "transform", "transform"]
    assert len({f.identity_key for f in result.failures}) == 3
    assert result.rejected == 0


def test_a_step_whose_error_went_on_to_its_owner_is_no_failure_but_any_other_error_span_is():
    ours = {"otelmon.platform": "cron", "otelmon.group": "billing", "otelmon.process": "load", "otelmon.run_id": "r1"}
    owner = {"name": "load", "span_id": b"\x00" * 7 + b"\x01",
             "attrs": {**ours, "otelmon.cause.steps": "validate"}}
    step = {"name": "validate", "span_id": b"\x00" * 7 + b"\x02",
            "attrs": {**ours, "otelmon.step": "validate", "otelmon.error.propagated": True}}
    # Another instrumentation's ERROR span in the same trace (a DB client, say) is still a failure.
    foreign = {"name": "SELECT sales", "span_id": b"\x00" * 7 + b"\x03", "attrs": {"db.system": "mysql"}}
    # Only the flag our instrumentation sets (a boolean) counts; a look-alike value does not drop a span.
    lookalike = {"name": "other", "span_id": b"\x00" * 7 + b"\x04", "attrs": {"otelmon.error.propagated": "yes"}}
    result = extract_failures(request_with([owner, step, foreign, lookalike]))
    assert [f.span_name for f in result.failures] == ["load", "SELECT sales", "other"]
    assert result.spans_seen == 4 and result.rejected == 0
