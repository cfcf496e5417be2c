"""Stack-health alerts through OtelMon with the real Alertmanager (and Prometheus) at the versions the stack
pins: an alert posted to Alertmanager as Prometheus posts it reaches OtelMon's webhook and comes out as
OtelMon's email; its resolution comes out as the recovery notice in the alert's thread."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from tests.harness.alertmanager import Alertmanager
from tests.harness.api_server import ApiServer
from tests.harness.ports import free_port
from tests.harness.prometheus import Prometheus
from tests.harness.smtp import SmtpSink
from tests.harness.waiting import wait_until

TOKEN = "am-e2e-token"


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


def api_env(smtp: SmtpSink, tmp_path: Path) -> dict[str, str]:
    return {"OTELMON_DATABASE_URL": f"sqlite:///{tmp_path / 'otelmon.db'}", "OTELMON_INGEST_TOKEN": TOKEN,
            "OTELMON_SMTP_HOST": "127.0.0.1", "OTELMON_SMTP_PORT": str(smtp.port),
            "OTELMON_SMTP_MAIL_FROM": "otelmon@example.com", "OTELMON_ALERT_RECIPIENTS": "ops@example.com"}


@pytest.fixture
def api(start_api, smtp: SmtpSink, tmp_path: Path) -> ApiServer:
    return start_api(api_env(smtp, tmp_path))


def start_alertmanager(api_url: str, tmp_path: Path) -> Alertmanager:
    """configs/alertmanager.yml's receiver, pointed at the test's API; timings short for a test."""
    token_file = tmp_path / "ingest-token"
    token_file.write_text(TOKEN)
    config = f"""
route:
  receiver: otelmon
  group_by: [alertname, job, instance]
  group_wait: 0s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: otelmon
    webhook_configs:
      - url: {api_url}/api/v1/alertmanager
        send_resolved: true
        max_alerts: 100
        timeout: 10s
        http_config:
          authorization:
            type: Bearer
            credentials_file: {token_file}
"""
    return Alertmanager(tmp_path / "alertmanager", config).start()


@pytest.fixture
def alertmanager(api: ApiServer, tmp_path: Path) -> Iterator[Alertmanager]:
    manager = start_alertmanager(api.url, tmp_path)
    yield manager
    manager.stop()


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _failed_webhook_calls(manager: Alertmanager) -> float:
    metrics = httpx.get(f"{manager.url}/metrics", timeout=10).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
               if line.startswith("alertmanager_notifications_failed_total{") and 'integration="webhook"' in line)


def test_an_alert_posted_to_alertmanager_is_emailed_by_otelmon_and_its_resolution_too(
        alertmanager: Alertmanager, smtp: SmtpSink):
    started = datetime.now(timezone.utc) - timedelta(minutes=2)
    alert = {"labels": {"alertname": "OtelMonOutboxBacklog", "job": "otelmon-api", "instance": "otelmon-api:8090",
                        "severity": "warning"},
             "annotations": {"summary": "Alerts are waiting to be sent", "description": "outbox backlog 42"},
             "startsAt": _iso(started), "generatorURL": "http://prometheus:9090/graph"}
    alertmanager.post_alerts([alert])
    [first] = smtp.wait_for(1, timeout=60)
    subject = first.message["Subject"]
    assert "OtelMonOutboxBacklog" in subject and "prometheus / otelmon-api" in subject, subject
    assert first.rcpt_tos == ["ops@example.com"]
    assert "outbox backlog 42" in first.message.get_body(("plain",)).get_content()

    alertmanager.post_alerts([{**alert, "endsAt": _iso(datetime.now(timezone.utc))}])
    recovery = smtp.wait_for(2, timeout=60)[1]
    assert recovery.message["Subject"].startswith("[OtelMon] RECOVERED prometheus / otelmon-api / "
                                                  "OtelMonOutboxBacklog"), recovery.message["Subject"]
    assert recovery.message["In-Reply-To"] == first.message["Message-ID"]
    assert len(smtp.received) == 2


def test_an_alert_raised_while_otelmon_is_down_arrives_once_it_is_back(smtp: SmtpSink, tmp_path: Path):
    """The case of "API down": Alertmanager keeps retrying the webhook, and the alert is delivered late."""
    api = ApiServer(api_env(smtp, tmp_path), port=free_port())
    manager = start_alertmanager(api.url, tmp_path)
    try:
        manager.post_alerts([{"labels": {"alertname": "OtelMonApiDown", "job": "otelmon-api"},
                              "annotations": {"summary": "The OtelMon API is down"},
                              "startsAt": _iso(datetime.now(timezone.utc))}])
        wait_until(lambda: _failed_webhook_calls(manager) >= 1, timeout=60, what="a refused webhook call")
        assert smtp.received == []
        api.start()
        [received] = smtp.wait_for(1, timeout=60)
        assert "prometheus / otelmon-api / OtelMonApiDown" in received.message["Subject"]
    finally:
        manager.stop()
        api.stop()


def test_a_prometheus_rule_that_fires_reaches_otelmon_through_alertmanager(
        alertmanager: Alertmanager, api: ApiServer, smtp: SmtpSink, tmp_path: Path):
    rules = tmp_path / "prometheus" / "rules.yml"
    rules.parent.mkdir(parents=True)
    rules.write_text("groups:\n  - name: stack\n    rules:\n      - alert: StackProbeFiring\n"
                     "        expr: vector(1) > 0\n        annotations: {summary: 'always firing'}\n")
    config = f"""
global: {{evaluation_interval: 1s}}
rule_files: [{rules}]
alerting:
  alertmanagers:
    - static_configs:
        - targets: ["127.0.0.1:{alertmanager.port}"]
"""
    prometheus = Prometheus(tmp_path / "prometheus", config).start()
    try:
        [received] = smtp.wait_for(1, timeout=60)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nprometheus:\n{prometheus.log_tail()}\nalertmanager:\n"
                             f"{alertmanager.log_tail()}\notelmon:\n{api.logs()[-4000:]}") from None
    finally:
        prometheus.stop()
    # No job or instance label on vector(1): the step is the stack itself.
    assert "prometheus / stack / StackProbeFiring" in received.message["Subject"], received.message["Subject"]
