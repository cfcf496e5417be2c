"""Failures reach the API after it was down, and after the collector restarted in between:
the retries and the persistent (file_storage) sending queue of configs/otelcol.yaml."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.collector.otelcol_process import Collector
from tests.collector.runs import make_run, send
from tests.harness.otlp_sinks import GrpcTraceSink, HttpTraceSink
from tests.harness.ports import free_port

# initial_interval 1s, max_interval 10s: a retry comes within ~10 s of the API's return.
RECOVERY_TIMEOUT = 45


@pytest.mark.slow
def test_api_unavailable_then_back_gets_the_failure_once(
    start_collector: Callable[..., Collector], tempo_sink: GrpcTraceSink, api_sink: HttpTraceSink
) -> None:
    collector = start_collector(tempo_sink.endpoint, api_sink.url)
    api_sink.status = 503
    run = make_run(ok_spans=9)

    send(collector.otlp_http_traces_url, run.spans)
    api_sink.received.wait_refused(2, RECOVERY_TIMEOUT)  # refused, then retried: not dropped
    api_sink.status = 200

    api = api_sink.received.wait_for(lambda got: len(got) >= 1, RECOVERY_TIMEOUT, "the error span after the outage")
    assert [span.span_id for span in api] == [run.error_span_id]


@pytest.mark.slow
def test_queued_failures_survive_a_collector_restart(
    start_collector: Callable[..., Collector], tempo_sink: GrpcTraceSink
) -> None:
    api_port = free_port()  # nothing listens there yet: the API is down
    collector = start_collector(tempo_sink.endpoint, f"http://127.0.0.1:{api_port}")
    runs = [make_run(ok_spans=4, run_id=f"run-{number}") for number in range(5)]
    for run in runs:
        send(collector.otlp_http_traces_url, run.spans)
    expected = {run.error_span_id for run in runs}
    # Every run has passed the collector (Tempo has it all), so the errors pipeline has queued them too.
    tempo_sink.received.wait_for(lambda got: len(got) >= sum(len(run.spans) for run in runs), RECOVERY_TIMEOUT,
                                 "every span at Tempo's place")

    assert collector.stop() == 0, collector.logs()
    api_sink = HttpTraceSink(port=api_port).start()
    try:
        collector.start()  # same queue directory, same ports
        api = api_sink.received.wait_for(lambda got: {s.span_id for s in got} >= expected, RECOVERY_TIMEOUT,
                                         "the 5 queued error spans after the restart")
    finally:
        api_sink.stop()
    assert all(span.is_error for span in api)
    assert sorted(span.span_id for span in api) == sorted(expected), "a failure was delivered twice"
