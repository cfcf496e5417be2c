"""Immediate alerts end to end: SDK exporter -> API (MariaDB) -> aiosmtpd on loopback."""

import gzip
import re

import httpx
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.trace import Status, StatusCode
from sqlalchemy import create_engine, text

from tests.alerting.conftest import TEAM, alert_state, quiescent
from tests.harness.spans import SpanFactory, protobuf_body
from tests.harness.waiting import wait_until


def export(api, spans):
    assert OTLPSpanExporter(endpoint=f"{api.url}/v1/traces", timeout=10).export(spans) == SpanExportResult.SUCCESS


def pipeline(process, run="run-1", group="daily_sales", try_number=1):
    return {"otelmon.platform": "airflow", "otelmon.group": group, "otelmon.process": process,
            "otelmon.run_id": run, "otelmon.try_number": try_number}


def html_part(msg):
    return msg.get_body(("html",)).get_content()


def text_part(msg):
    return msg.get_body(("plain",)).get_content()


def test_one_failing_span_is_one_readable_email(alert_api, smtp_sink):
    spans = SpanFactory("airflow-worker", {"host.name": "worker-7"})
    spans.ok("extract", pipeline("extract"))
    spans.failing("load", pipeline("load"), KeyError("customer_id"))
    batch = spans.take()
    export(alert_api, batch)

    (got,) = smtp_sink.wait_for(1)
    msg = got.message
    assert got.rcpt_tos == [TEAM]
    assert msg["Subject"] == "[OtelMon] FAILED airflow / daily_sales / load"
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert re.fullmatch(r"<otelmon\.alert\.\d+\.[0-9a-f]{16}@example\.com>", msg["Message-ID"])
    trace_id = format(batch[1].context.trace_id, "032x")
    html, plain = html_part(msg), text_part(msg)
    for part in (html, plain):
        assert "KeyError" in part and "customer_id" in part and "run-1" in part and "worker-7" in part
        assert "http://grafana.example:3000/explore?" in part and trace_id in part
        assert "Mute this failure for 24 h" in part and "Acknowledge until resolved" in part
    lines = plain.replace("\r\n", "\n")
    mute, ack = (re.search(rf"{label} \(asks you to confirm first\):\n(\S+)\n", lines)[1]
                 for label in ("Mute this failure for 24 h", "Acknowledge until resolved"))
    assert re.fullmatch(r"https?://\S+/actions/\S+", mute) and re.fullmatch(r"https?://\S+/actions/\S+", ack)
    assert mute != ack and f'href="{mute}"' in html and f'href="{ack}"' in html
    # The failure's page in the console, on the public URL, in both parts (and so in every channel's links).
    (stored,) = httpx.get(f"{alert_api.url}/api/v1/failures", timeout=10).json()["items"]
    console = f"http://localhost:8090/console/failures/{stored['id']}"
    assert f"Open this failure in OtelMon:\n{console}\n" in lines and f'href="{console}"' in html
    assert "<style" not in html and 'style="' in html  # CSS inlined for mail clients
    assert 'width="600"' in html or "width: 600px" in html
    state = quiescent(alert_api)
    assert state["alerts_by_state"] == {"sent": 1}
    assert state["items"][0]["message_id"] == msg["Message-ID"]
    metrics = httpx.get(f"{alert_api.url}/metrics").text
    assert "otelmon_alerts_sent_total 1.0" in metrics and "otelmon_outbox_backlog 0.0" in metrics


def test_three_error_spans_of_one_trace_are_one_email_headed_by_the_outermost(alert_api, smtp_sink):
    spans = SpanFactory()
    with spans.tracer.start_as_current_span("dag_run") as outer:
        with spans.tracer.start_as_current_span("task") as middle:
            with spans.tracer.start_as_current_span("query") as inner:
                inner.set_status(Status(StatusCode.ERROR, "deadlock detected"))
            middle.set_status(Status(StatusCode.ERROR, "query failed"))
        outer.set_status(Status(StatusCode.ERROR, "task failed"))
    export(alert_api, spans.take())

    state = quiescent(alert_api)
    assert state["outbox_by_state"] == {"alerted": 3}
    (got,) = smtp_sink.received
    assert got.message["Subject"] == "[OtelMon] FAILED otel / test-service / dag_run (+2 more in this trace)"
    plain = text_part(got.message)
    assert "task failed" in plain.split("Inner causes")[0]
    assert "query failed" in plain.split("Inner causes")[1] and "deadlock detected" in plain


def test_redelivered_batch_sends_no_second_email(alert_api, smtp_sink):
    spans = SpanFactory()
    spans.failing("load", pipeline("load"))
    body = gzip.compress(protobuf_body(spans.take()))
    headers = {"content-type": "application/x-protobuf", "content-encoding": "gzip"}
    assert httpx.post(f"{alert_api.url}/v1/traces", content=body, headers=headers).status_code == 200
    smtp_sink.wait_for(1)
    quiescent(alert_api)
    assert httpx.post(f"{alert_api.url}/v1/traces", content=body, headers=headers).status_code == 200
    state = quiescent(alert_api)
    assert len(smtp_sink.received) == 1 and len(state["items"]) == 1


def test_repeats_inside_the_interval_are_suppressed_and_counted(alert_api, smtp_sink, mariadb_url):
    def fail(run):
        spans = SpanFactory()
        spans.failing("load", pipeline("load", run=run), ValueError("bad row"))
        export(alert_api, spans.take())
        return quiescent(alert_api)

    fail("r1")
    fail("r2")
    state = fail("r3")
    assert state["outbox_by_state"] == {"alerted": 1, "suppressed": 2}
    assert len(smtp_sink.received) == 1
    assert "otelmon_alerts_suppressed_total 2.0" in httpx.get(f"{alert_api.url}/metrics").text

    # The repeat interval (1 h) runs out: move the fingerprint's last email back in time.
    engine = create_engine(mariadb_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alert_fingerprints SET last_alerted_at = last_alerted_at - INTERVAL 2 HOUR"))
    engine.dispose()
    state = fail("r4")
    second = smtp_sink.wait_for(2)[1].message
    assert "Failed 2 more times since the last alert" in text_part(second)
    assert "Failed 2 more times" in html_part(second)
    assert state["items"][0]["suppressed_count"] == 2


def test_a_storm_is_capped_and_summarised(start_api, alert_env, smtp_sink, mariadb_url):
    api = start_api({**alert_env, "OTELMON_ALERT_STORM_CAP_PER_MINUTE": "20"})
    spans = SpanFactory()
    for n in range(1000):
        spans.failing(f"step_{n}", pipeline(f"step_{n}", group=f"dag_{n % 10}"))
    export(api, spans.take())
    state = quiescent(api, timeout=60)
    assert state["alerts_by_state"] == {"sent": 21}
    kinds = [item["kind"] for item in state["items"]]
    assert kinds.count("summary") == 1 and kinds.count("failure") == 20
    received = smtp_sink.wait_for(21)
    (summary,) = [r.message for r in received if "held back" in r.message["Subject"]]
    assert summary["Subject"] == "[OtelMon] 980 more failures held back (over 20/min)"
    plain = text_part(summary)
    assert "980 more failures not emailed one by one" in plain
    assert "airflow / dag_" in plain and "more kinds of failure" in plain
    assert state["outbox_by_state"] == {"alerted": 20, "summarized": 980}
    # The storm goes on: what arrives while the window is used up is held for the next summary.
    for n in range(100):
        spans.failing(f"late_{n}", pipeline(f"late_{n}"))
    export(api, spans.take())
    wait_until(lambda: alert_state(api)["outbox_by_state"].get("held") == 100, what="late failures held")
    assert len(smtp_sink.received) == 21
    engine = create_engine(mariadb_url)
    with engine.begin() as conn:  # a minute passes
        conn.execute(text("UPDATE alerts SET created_at = created_at - INTERVAL 2 MINUTE"))
    engine.dispose()
    state = quiescent(api, timeout=60)
    assert state["outbox_by_state"] == {"alerted": 20, "summarized": 1080}
    late = smtp_sink.wait_for(22)[21].message
    assert late["Subject"] == "[OtelMon] 100 more failures held back (over 20/min)"


def test_routes_send_matching_groups_to_their_team(start_api, alert_env, smtp_sink):
    routes = '[{"match": "airflow/billing_*", "to": ["billing@example.com", "oncall@example.com"]}]'
    api = start_api({**alert_env, "OTELMON_ALERT_ROUTES": routes})
    spans = SpanFactory()
    spans.failing("charge", pipeline("charge", group="billing_daily"))
    spans.failing("load", pipeline("load", group="daily_sales"))
    export(api, spans.take())
    received = smtp_sink.wait_for(2)
    quiescent(api)
    by_subject = {r.message["Subject"]: sorted(r.rcpt_tos) for r in received}
    assert by_subject["[OtelMon] FAILED airflow / billing_daily / charge"] == [
        "billing@example.com", "oncall@example.com"]
    assert by_subject["[OtelMon] FAILED airflow / daily_sales / load"] == [TEAM]


def test_hostile_input_is_escaped_and_the_email_stays_small(alert_api, smtp_sink):
    spans = SpanFactory()
    evil = {**pipeline("load\r\nBcc: victim@example.com"), "otelmon.group": "<b>sales</b>"}
    message = "<script>alert('x')</script>\r\nSubject: injected"
    stack = "Traceback (most recent call last):\n" + "  File \"x.py\", line 1, in <module>\n" * 30000
    assert len(stack) > 1_000_000
    with spans.tracer.start_as_current_span("load", attributes=evil) as span:
        span.add_event("exception", {"exception.type": "ValueError", "exception.message": message,
                                     "exception.stacktrace": stack})
        span.set_status(Status(StatusCode.ERROR))
    export(alert_api, spans.take())
    (got,) = smtp_sink.wait_for(1)
    msg = got.message
    assert len(got.raw) < 100 * 1024
    assert got.rcpt_tos == [TEAM] and msg["Bcc"] is None
    assert "\r" not in msg["Subject"] and "\n" not in msg["Subject"]
    assert msg["Subject"].startswith("[OtelMon] FAILED airflow / <b>sales</b> / load Bcc:")
    html = html_part(msg)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>sales</b>" not in html and "&lt;b&gt;sales&lt;/b&gt;" in html
    assert "first 40 lines" in html and "The full trace is in Grafana" in html
