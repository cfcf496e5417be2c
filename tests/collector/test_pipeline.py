"""SDK -> the real collector (the stack's config) -> Tempo's place and otelmon-api's place.

The API's place is a stand-in OTLP/HTTP sink for now; the end-to-end suite puts the real API there.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.collector.otelcol_process import Collector
from tests.collector.runs import FAILING_PROCESS, GROUP, PLATFORM, SERVICE, make_run, send
from tests.harness.otlp_sinks import GrpcTraceSink, HttpTraceSink
from tests.harness.spans import SpanFactory

DELIVERY_TIMEOUT = 30


@pytest.mark.slow
@pytest.mark.parametrize("token", ["", "s3cret-token"], ids=["no-token", "token"])
def test_tempo_gets_every_span_and_the_api_only_the_error_among_steps(
    start_collector: Callable[..., Collector], tempo_sink: GrpcTraceSink, api_sink: HttpTraceSink, token: str
) -> None:
    collector = start_collector(tempo_sink.endpoint, api_sink.url, ingest_token=token)
    run = make_run(ok_spans=99)

    send(collector.otlp_http_traces_url, run.spans)

    tempo = tempo_sink.received.wait_for(lambda got: {s.span_id for s in got} >= run.span_ids,
                                         DELIVERY_TIMEOUT, "all 100 spans at Tempo's place")
    assert len(tempo) == len(run.spans)
    api = api_sink.received.wait_for(lambda got: len(got) >= 1, DELIVERY_TIMEOUT, "the error span at the API")
    # The filter saw the SDK's one request whole before the error span could leave it; its counters
    # prove nothing else got through that could still be on its way to the API.
    filter_labels = {"processor": "filter/failures_and_runs"}
    assert collector.telemetry("otelcol_processor_incoming_items_total", **filter_labels) == len(run.spans)
    assert collector.telemetry("otelcol_processor_outgoing_items_total", **filter_labels) == 1
    assert [span.span_id for span in api] == [run.error_span_id]
    error = api[0]
    assert error.is_error
    assert error.attributes["otelmon.process"] == FAILING_PROCESS
    assert error.resource["otelmon.platform"] == PLATFORM
    assert error.resource["otelmon.group"] == GROUP
    assert api_sink.received.headers[0]["authorization"].strip() == f"Bearer {token}".strip()
    assert api_sink.received.headers[0]["content-type"] == "application/x-protobuf"


@pytest.mark.slow
def test_task_spans_of_every_outcome_reach_the_api_and_their_child_spans_do_not(
    start_collector: Callable[..., Collector], tempo_sink: GrpcTraceSink, api_sink: HttpTraceSink
) -> None:
    collector = start_collector(tempo_sink.endpoint, api_sink.url)
    factory = SpanFactory(SERVICE, resource={"otelmon.platform": PLATFORM, "otelmon.group": GROUP})
    identity = {"otelmon.process": "load", "otelmon.run_id": "run-7", "otelmon.try_number": 1}
    factory.ok("load", identity)  # a successful try: its task span
    factory.ok("parse", {**identity, "otelmon.step": "parse"})  # a successful step inside it
    factory.ok("http GET", {"http.method": "GET"})  # a library's span, no identity
    factory.ok("extract", {"airflow.dag_id": "nightly", "airflow.task_id": "extract"})  # Airflow's native one
    factory.ok("PutFile", {"nifi.processor.name": "PutFile"})
    factory.failing("write", {"http.method": "PUT"})  # an ERROR span goes whatever it carries
    spans = factory.take()
    by_name = {span.name: format(span.context.span_id, "016x") for span in spans}

    send(collector.otlp_http_traces_url, spans)

    tempo_sink.received.wait_for(lambda got: {s.span_id for s in got} >= set(by_name.values()),
                                 DELIVERY_TIMEOUT, "every span at Tempo's place")
    forwarded = {"load", "extract", "PutFile", "write"}
    api = api_sink.received.wait_for(lambda got: len(got) >= len(forwarded), DELIVERY_TIMEOUT,
                                     "the task spans and the error at the API")
    filter_labels = {"processor": "filter/failures_and_runs"}
    assert collector.telemetry("otelcol_processor_incoming_items_total", **filter_labels) == len(spans)
    assert collector.telemetry("otelcol_processor_outgoing_items_total", **filter_labels) == len(forwarded)
    assert sorted(span.span_id for span in api) == sorted(by_name[name] for name in forwarded)
    assert len(tempo_sink.received.spans) == len(spans)
