"""SDK -> the real collector (the stack's config) -> Tempo's place and otelmon-api's place.

The API's place is a stand-in OTLP/HTTP sink for now; the end-to-end suite puts the real API there.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.collector.otelcol_process import Collector
from tests.collector.runs import FAILING_PROCESS, GROUP, PLATFORM, make_run, send
from tests.harness.otlp_sinks import GrpcTraceSink, HttpTraceSink

DELIVERY_TIMEOUT = 30


@pytest.mark.slow
@pytest.mark.parametrize("token", ["", "s3cret-token"], ids=["no-token", "token"])
def test_tempo_gets_every_span_and_the_api_only_the_error(
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
    filter_labels = {"processor": "filter/errors_only"}
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
