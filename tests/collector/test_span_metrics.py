"""The span-metrics connector and the Prometheus exporter of configs/otelcol.yaml: per-pipeline
calls and durations, errors labelled, exemplars carrying the trace id."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from tests.collector.otelcol_process import Collector
from tests.collector.runs import FAILING_PROCESS, GROUP, PLATFORM, SERVICE, make_run, send
from tests.harness.otlp_sinks import GrpcTraceSink, HttpTraceSink

# A new series is first flushed at 0 (so Prometheus' rate() sees its first increase) and carries its
# count from the next flush on: with metrics_flush_interval 15s that is at most ~30 s after the span.
METRICS_TIMEOUT = 50
CALLS = "traces_span_metrics_calls"


def scrape_openmetrics(url: str) -> str:
    # Exemplars are only in the OpenMetrics format, which the exporter serves when asked for it.
    headers = {"Accept": "application/openmetrics-text; version=1.0.0"}
    return httpx.get(url, headers=headers, timeout=5).raise_for_status().text


def error_calls(text: str) -> list:
    """The calls samples of the failing process with status ERROR."""
    return [
        sample
        for family in text_string_to_metric_families(text)
        if family.name == CALLS
        for sample in family.samples
        if sample.name == f"{CALLS}_total"
        and sample.labels.get("status_code") == "STATUS_CODE_ERROR"
        and sample.labels.get("otelmon_process") == FAILING_PROCESS
    ]


@pytest.mark.slow
def test_failed_span_shows_in_span_metrics_with_an_exemplar(
    start_collector: Callable[..., Collector], tempo_sink: GrpcTraceSink, api_sink: HttpTraceSink
) -> None:
    collector = start_collector(tempo_sink.endpoint, api_sink.url)
    run = make_run(ok_spans=19)
    send(collector.otlp_http_traces_url, run.spans)

    # The exporter serves what the connector last flushed; poll its endpoint as Prometheus would.
    # An exemplar lives for one flush only, so it is collected from whichever scrape shows it.
    counted, exemplar_traces = [], set()
    deadline = time.monotonic() + METRICS_TIMEOUT
    while not (counted and exemplar_traces):
        samples = error_calls(text := scrape_openmetrics(collector.span_metrics_url))
        counted = [sample for sample in samples if sample.value > 0]
        exemplar_traces |= {sample.exemplar.labels["trace_id"] for sample in samples if sample.exemplar}
        if not (counted and exemplar_traces):
            assert time.monotonic() < deadline, f"no counted error series after {METRICS_TIMEOUT}s:\n{text[-3000:]}"
            time.sleep(1)

    [sample] = counted
    assert sample.value == 1
    assert sample.labels["otelmon_platform"] == PLATFORM
    assert sample.labels["otelmon_group"] == GROUP
    assert sample.labels["service_name"] == SERVICE
    assert exemplar_traces == {format(run.error.context.trace_id, "032x")}
