"""Alerts survive outages: SMTP refusing connections, the API killed with alerts pending."""

import httpx
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from tests.alerting.conftest import alert_state, quiescent
from tests.harness.spans import SpanFactory
from tests.harness.waiting import wait_until


def send_failures(api, names):
    spans = SpanFactory()
    for name in names:
        spans.failing(name, {"otelmon.platform": "nifi", "otelmon.group": "orders", "otelmon.process": name})
    assert (
        OTLPSpanExporter(endpoint=f"{api.url}/v1/traces", timeout=10).export(spans.take()) == SpanExportResult.SUCCESS
    )


def retried(api, count):
    """Every alert has been tried at least twice and is waiting to be tried again."""
    state = alert_state(api)
    items = state["items"]
    return len(items) == count and all(
        i["state"] == "pending" and i["attempts"] >= 2 and i["last_error"] for i in items
    )


def subjects(sink):
    return sorted(r.message["Subject"] for r in sink.received)


def test_smtp_down_then_up_delivers_every_alert_once(alert_api, smtp_sink):
    smtp_sink.stop()
    send_failures(alert_api, ["PutSQL", "FetchFile", "ConvertRecord"])
    wait_until(lambda: retried(alert_api, 3), what="alerts retried while SMTP is down")

    smtp_sink.start()
    smtp_sink.wait_for(3)
    state = quiescent(alert_api)
    assert state["alerts_by_state"] == {"sent": 3}
    assert subjects(smtp_sink) == [
        f"[OtelMon] FAILED nifi / orders / {p}" for p in ("ConvertRecord", "FetchFile", "PutSQL")
    ]
    assert len({r.message["Message-ID"] for r in smtp_sink.received}) == 3


def test_alerts_pending_when_the_api_is_killed_are_sent_after_restart(start_api, alert_env, smtp_sink):
    first = start_api(alert_env)
    smtp_sink.stop()
    send_failures(first, ["PutSQL", "FetchFile"])
    wait_until(lambda: retried(first, 2), what="alerts pending")
    first.kill()

    smtp_sink.start()
    second = start_api(alert_env)
    smtp_sink.wait_for(2)
    state = quiescent(second)
    assert state["alerts_by_state"] == {"sent": 2}
    assert subjects(smtp_sink) == [
        "[OtelMon] FAILED nifi / orders / FetchFile",
        "[OtelMon] FAILED nifi / orders / PutSQL",
    ]


def test_alerts_give_up_after_the_last_try(start_api, alert_env, smtp_sink):
    smtp_sink.stop()
    api = start_api({**alert_env, "OTELMON_ALERT_MAX_ATTEMPTS": "2"})
    send_failures(api, ["PutSQL"])
    state = wait_until(
        lambda: (s := alert_state(api))["alerts_by_state"] == {"failed": 1} and s, what="alert marked failed"
    )
    assert state["items"][0]["attempts"] == 2 and "Connect" in state["items"][0]["last_error"]
    assert "otelmon_alerts_failed_total 1.0" in httpx.get(f"{api.url}/metrics").text
