"""The stack's pipeline for real: OTel SDK -> the collector (configs/otelcol.yaml) -> the OtelMon API on
MariaDB -> an email in Mailpit; Tempo's place a stand-in sink; Prometheus scraping the span metrics. Mailpit and
Prometheus are the versions the stack pins. Only addresses differ from the stack (environment variables)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.alerting.conftest import alert_state
from tests.collector.otelcol_process import Collector
from tests.collector.runs import FAILING_PROCESS, GROUP, PLATFORM, SERVICE, make_run, send
from tests.harness.api_server import ApiServer
from tests.harness.mailpit import Mailpit
from tests.harness.otlp_sinks import GrpcTraceSink
from tests.harness.ports import free_port
from tests.harness.prometheus import Prometheus
from tests.harness.waiting import wait_until

TOKEN = "e2e-ingest-token"
HEADERS = {"authorization": f"Bearer {TOKEN}"}
# The collector retries with initial_interval 1s up to max_interval 10s.
RECOVERY_TIMEOUT = 60


@pytest.fixture
def mailpit(tmp_path) -> Iterator[Mailpit]:
    server = Mailpit(tmp_path / "mailpit").start()
    yield server
    server.stop()


@pytest.fixture
def api_env(mariadb_url: str, mailpit: Mailpit) -> dict[str, str]:
    return {"OTELMON_DATABASE_URL": mariadb_url, "OTELMON_INGEST_TOKEN": TOKEN,
            "OTELMON_SMTP_HOST": "127.0.0.1", "OTELMON_SMTP_PORT": str(mailpit.smtp_port),
            "OTELMON_ALERT_RECIPIENTS": "team@example.com", "OTELMON_ALERT_GROUP_WAIT_SECONDS": "0.2"}


def queued(collector: Collector) -> float:
    try:
        return collector.telemetry("otelcol_exporter_queue_size", exporter="otlp_http/otelmon")
    except AssertionError:  # the series appears with the exporter's first batch
        return 0


def stored(api: ApiServer) -> list[dict]:
    return httpx.get(f"{api.url}/api/v1/failures", params={"limit": 500}, headers=HEADERS, timeout=10).json()["items"]


@pytest.mark.slow
def test_one_failure_among_many_spans_is_stored_and_emailed_once(
    start_collector: Callable[..., Collector], tempo_sink: GrpcTraceSink, start_api, api_env, mailpit: Mailpit
) -> None:
    api = start_api(api_env)
    collector = start_collector(tempo_sink.endpoint, api.url, ingest_token=TOKEN)
    run = make_run(ok_spans=199)
    send(collector.otlp_http_traces_url, run.spans)

    tempo_sink.received.wait_for(lambda got: {s.span_id for s in got} >= run.span_ids, RECOVERY_TIMEOUT,
                                 "every span at Tempo's place")
    (summary,) = mailpit.wait_for(1, timeout=RECOVERY_TIMEOUT)
    assert summary["Subject"] == f"[OtelMon] FAILED {PLATFORM} / {GROUP} / {FAILING_PROCESS}"
    assert [to["Address"] for to in summary["To"]] == ["team@example.com"]
    message = mailpit.message(summary)
    assert message.get_content_type() == "multipart/alternative"
    # The trace link a person follows from the inbox.
    assert format(run.error.context.trace_id, "032x") in message.get_body(("html",)).get_content()
    wait_until(lambda: alert_state(api, HEADERS)["alerts_by_state"] == {"sent": 1}, what="alert recorded as sent")
    assert len(mailpit.summaries()) == 1
    (failure,) = stored(api)
    assert (failure["process"], failure["span_id"]) == (FAILING_PROCESS, run.error_span_id)
    # The API saw only the error span, never the 199 others.
    metrics = httpx.get(f"{api.url}/metrics").text
    assert "otelmon_spans_received_total 1.0" in metrics
    assert len(tempo_sink.received.spans) == len(run.spans)


@pytest.mark.slow
def test_prometheus_scrapes_the_error_series_of_the_failed_service(
    start_collector: Callable[..., Collector], tempo_sink: GrpcTraceSink, start_api, api_env, tmp_path
) -> None:
    api = start_api(api_env)
    collector = start_collector(tempo_sink.endpoint, api.url, ingest_token=TOKEN)
    target = collector.span_metrics_url.split("//", 1)[1].split("/", 1)[0]
    config = (
        "global:\n  scrape_interval: 1s\n"
        f"scrape_configs:\n  - job_name: otelcol-spanmetrics\n    static_configs:\n      - targets: ['{target}']\n"
    )
    prometheus = Prometheus(tmp_path / "prometheus", config).start()
    try:
        send(collector.otlp_http_traces_url, make_run(ok_spans=9).spans)
        expr = (f'sum by (otelmon_process) (traces_span_metrics_calls_total{{service_name="{SERVICE}",'
                f' status_code="STATUS_CODE_ERROR"}})')

        def counted():
            answer = prometheus.query(expr)
            assert answer["status"] == "success", answer
            return [r for r in answer["data"]["result"] if float(r["value"][1]) >= 1]

        # The connector flushes every 15 s and publishes a new series at 0 first.
        (series,) = wait_until(counted, timeout=90, interval=1, what="the error series in Prometheus")
        assert series["metric"]["otelmon_process"] == FAILING_PROCESS
    finally:
        prometheus.stop()


@pytest.mark.slow
def test_api_down_and_collector_restarted_in_between_loses_nothing(
    start_collector: Callable[..., Collector], tempo_sink: GrpcTraceSink, api_env, mailpit: Mailpit
) -> None:
    api_port = free_port()  # the API is down: nothing listens there yet
    collector = start_collector(tempo_sink.endpoint, f"http://127.0.0.1:{api_port}", ingest_token=TOKEN)
    runs = [make_run(ok_spans=4, run_id=f"run-{n}") for n in range(5)]
    for run in runs:
        send(collector.otlp_http_traces_url, run.spans)
    tempo_sink.received.wait_for(lambda got: len(got) >= sum(len(r.spans) for r in runs), RECOVERY_TIMEOUT,
                                 "every span at Tempo's place")
    # The API refuses connections: the failures wait in the persistent sending queue.
    wait_until(lambda: queued(collector) >= 1, timeout=RECOVERY_TIMEOUT, interval=0.5, what="queued failures")

    assert collector.stop() == 0, collector.logs()
    collector.start()  # same queue directory
    api = ApiServer(api_env, port=api_port).start()
    try:
        expected = {r.error_span_id for r in runs}
        rows = wait_until(lambda: (got := stored(api)) and {f["span_id"] for f in got} >= expected and got,
                          timeout=RECOVERY_TIMEOUT, interval=0.5, what="the 5 queued failures in the API")
        wait_until(lambda: queued(collector) == 0, timeout=RECOVERY_TIMEOUT, interval=0.5, what="an empty queue")
        assert sorted(f["span_id"] for f in stored(api)) == sorted(expected)
        assert len(rows) == 5
        # One email: the five are repeats of one fingerprint (same process and error type).
        # "alerted" only means an alert row exists; its email is sent later, so wait for the alert to be sent.
        def one_sent() -> bool:
            state = alert_state(api, HEADERS)
            dispatched = state["outbox_by_state"] == {"alerted": 1, "suppressed": 4}
            return dispatched and state["alerts_by_state"] == {"sent": 1}

        wait_until(one_sent, timeout=30, what="the one alert sent")
        assert len(mailpit.summaries()) == 1
    finally:
        api.stop()

