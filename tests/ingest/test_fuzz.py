"""Property-based OTLP fuzzing (issue 12): whatever the body, the receiver answers < 500, and every failure
it stores reads back through the API. Runs in-process on SQLite and MariaDB with a bounded budget."""

from __future__ import annotations

import gzip
import json
import math
from datetime import timedelta, timezone

from google.protobuf import json_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from sqlalchemy import select

from tests.ingest.otlp_bodies import any_value, otlp_json, request_of

INT64 = st.integers(-(2**63), 2**63 - 1)
# Mostly plausible span times, with the edges of fixed64 mixed in.
UINT64 = st.one_of(st.integers(1_500_000_000 * 10**9, 2_000_000_000 * 10**9), st.integers(0, 2**64 - 1),
                   st.sampled_from([0, 1, 2**63, 2**64 - 1]))
EDGES = st.sampled_from([math.inf, -math.inf, math.nan, 2**31, 2**40, 2**63 - 1, -(2**63), 1e300, -0.0,
                         "100000000000000000000", "-1e400"])
EXTREME_TEXT = st.one_of(
    st.text(max_size=40),
    st.text(min_size=250, max_size=400),
    st.from_regex(r"-?[0-9]{15,30}", fullmatch=True),
    st.sampled_from(["NaN", "inf", "-Infinity", "1e400", "", " ", "0001-01-01T00:00:00+01:00",
                     "9999-12-31T23:59:59-01:00", "0999-01-01", "2026-11-22T10:00:00Z", "\x00"]),
    st.datetimes(timezones=st.one_of(st.none(), st.just(timezone.utc),
                                     st.just(timezone(timedelta(hours=14))), st.just(timezone(-timedelta(hours=12)))))
    .map(lambda d: d.isoformat()),
)
SCALAR = st.one_of(EDGES, EXTREME_TEXT, INT64, st.floats(), st.booleans(), st.binary(max_size=20))
VALUE = st.integers(0, 9).flatmap(
    lambda n: EDGES if n < 3 else SCALAR if n < 9 else st.recursive(SCALAR, st.lists, max_leaves=10)
)
# The keys that decide a failure's columns, each present about half the time, plus arbitrary others.
KEYS = [
    "otelmon.platform", "otelmon.group", "otelmon.process", "otelmon.run_id", "otelmon.try_number",
    "airflow.dag_id", "airflow.task_id", "airflow.dag_run.run_id", "airflow.task_instance.try_number",
    "airflow.task_instance.map_index", "airflow.task_instance.state", "nifi.processor.name", "etl.platform",
    "etl.group_name", "etl.process_name", "etl.error", "etl.error_type", "etl.stacktrace", "etl.start_time",
    "etl.end_time", "service.name", "host.name",
]
ATTRIBUTES = st.builds(
    lambda known, other: {**other, **known},
    st.fixed_dictionaries({}, optional={key: VALUE for key in KEYS}),
    st.dictionaries(st.text(max_size=20), VALUE, max_size=4),
)


def _mostly(usual: st.SearchStrategy, odd: st.SearchStrategy) -> st.SearchStrategy:
    return st.integers(0, 9).flatmap(lambda n: odd if n == 0 else usual)


def _ids(size: int) -> st.SearchStrategy[bytes]:
    return st.integers(1, 2 ** (8 * size) - 1).map(lambda n: n.to_bytes(size, "big"))


@st.composite
def spans(draw) -> Span:
    span = Span(
        trace_id=draw(_mostly(_ids(16), st.binary(max_size=20))),
        span_id=draw(_mostly(_ids(8), st.binary(max_size=10))),
        parent_span_id=draw(st.binary(max_size=8)),
        name=draw(EXTREME_TEXT),
        kind=draw(st.integers(0, 5)),
        start_time_unix_nano=draw(UINT64),
        end_time_unix_nano=draw(UINT64),
    )
    span.status.code = draw(st.sampled_from([0, 1, 2, 2, 2]))
    span.status.message = draw(EXTREME_TEXT)
    for key, value in draw(ATTRIBUTES).items():
        span.attributes.add(key=key).value.CopyFrom(any_value(value))
    if draw(st.booleans()):
        event = span.events.add(name="exception")
        for key in ("exception.type", "exception.message", "exception.stacktrace"):
            event.attributes.add(key=key).value.CopyFrom(any_value(draw(SCALAR)))
    return span


@st.composite
def bodies(draw) -> tuple[bytes, str]:
    request = request_of(*draw(st.lists(spans(), min_size=1, max_size=4)), resource=draw(ATTRIBUTES))
    kind = draw(st.sampled_from(["application/x-protobuf", "application/json"]))
    if kind == "application/x-protobuf":
        body = request.SerializeToString()
    else:
        # OTLP JSON variants: the spec's hex ids, or snake_case names with enums as names.
        document = otlp_json(request) if draw(st.booleans()) else json_format.MessageToDict(
            request, preserving_proto_field_name=True, use_integers_for_enums=False)
        body = json.dumps(document).encode()
    mutation = draw(st.sampled_from(["none", "none", "none", "flip", "truncate", "insert"]))
    if body and mutation != "none":
        at = draw(st.integers(0, len(body) - 1))
        if mutation == "flip":
            body = body[:at] + bytes([body[at] ^ draw(st.integers(1, 255))]) + body[at + 1:]
        elif mutation == "truncate":
            body = body[:at]
        else:
            body = body[:at] + draw(st.binary(min_size=1, max_size=8)) + body[at:]
    return body, kind


def test_no_body_gets_a_5xx_and_every_stored_failure_reads_back(client):
    engine, failures = client.app.state.runtime.engine, client.app.state.runtime.tables.failures
    seen: set[int] = set()

    @settings(max_examples=120, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(body=bodies(), compress=st.booleans())
    def check(body: tuple[bytes, str], compress: bool) -> None:
        content, kind = body
        headers = {"content-type": kind}
        if compress:
            content, headers["content-encoding"] = gzip.compress(content), "gzip"
        answer = client.post("/v1/traces", content=content, headers=headers)
        assert answer.status_code < 500, answer.content
        if answer.status_code == 200:
            if kind == "application/json":
                json_format.Parse(answer.content, ExportTraceServiceResponse())
            else:
                ExportTraceServiceResponse.FromString(answer.content)
        with engine.connect() as conn:
            new = set(conn.scalars(select(failures.c.id))) - seen
        for failure_id in sorted(new):
            detail = client.get(f"/api/v1/failures/{failure_id}")
            assert detail.status_code == 200, detail.text
            assert detail.json()["id"] == failure_id
        seen.update(new)
        listing = client.get("/api/v1/failures", params={"limit": 500})
        assert listing.status_code == 200, listing.text

    check()
