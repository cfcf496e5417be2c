"""Retry-aware alerting and recovery notices with real DAG runs (dag.test()) through the real API, to email
and a Slack stand-in: a try that its retry fixes alerts nobody; a task failing every try is one alert naming
each try; a later successful run is one recovery notice per target, in the alert's thread; failing again
after that is a regression, alerted at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.airflow.airflow_home import AirflowHome
from tests.airflow.conftest import FailuresApi, otel_env
from tests.harness.api_server import ApiServer
from tests.harness.mariadb import MariaDBServer
from tests.harness.otlp_sinks import HttpTraceSink
from tests.harness.smtp import SmtpSink
from tests.harness.vendors.slack import TOKEN, Slack
from tests.harness.waiting import wait_until

pytestmark = pytest.mark.slow

RETRY_TRANSFORM = {"dag_id": "example_etl", "conf": {"outcome": "retry", "target": "transform"}}
FAIL_LOAD = {"dag_id": "example_etl", "conf": {"outcome": "fail", "target": "load"}}
SUCCEED = {"dag_id": "example_etl", "conf": {"outcome": "succeed"}}


@pytest.fixture(scope="module")
def slack() -> Iterator[Slack]:
    with Slack() as workspace:
        yield workspace


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
def failures_api(mariadb_server: MariaDBServer, smtp: SmtpSink, slack: Slack,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[FailuresApi]:
    """The API with alerts on: one receiver, email and a Slack channel (bot token: threads)."""
    notify = tmp_path_factory.mktemp("notify") / "notify.yaml"
    notify.write_text(
        "receivers:\n  - name: data-team\n    email: [data-team@example.com]\n"
        f"    slack: [{{bot_token: '{TOKEN}', channel: '#alerts', api_url: '{slack.api_url}'}}]\n"
        "default_receiver: data-team\n")
    with mariadb_server.scratch_database(migrated=True) as url:
        server = ApiServer({"OTELMON_DATABASE_URL": url, "OTELMON_NOTIFY_CONFIG": str(notify),
                            "OTELMON_SMTP_HOST": "127.0.0.1", "OTELMON_SMTP_PORT": str(smtp.port),
                            "OTELMON_SMTP_MAIL_FROM": "otelmon@example.com"}).start()
        try:
            yield FailuresApi(server.url, url)
        finally:
            server.stop()


def subjects(smtp: SmtpSink) -> list[str]:
    return [received.message["Subject"] for received in smtp.received]


def posts(slack: Slack) -> list[dict]:
    return [request.json() for request in slack.calls("/api/chat.postMessage")]


def test_retries_recovery_and_regression_through_airflow(airflow_home: AirflowHome, sink_to_api: HttpTraceSink,
                                                         failures_api: FailuresApi, smtp: SmtpSink,
                                                         slack: Slack, tmp_path: Path):
    env = otel_env(sink_to_api.url)
    retried, failed = airflow_home.run_dags([RETRY_TRANSFORM, FAIL_LOAD], env)
    assert (retried["state"], failed["state"]) == ("success", "failed")
    # The failed run: one alert for load's last try, naming its first; none for transform, whose retry worked.
    (alert,) = smtp.wait_for(1)
    assert alert.message["Subject"] == "[OtelMon] FAILED airflow / example_etl / load after 2 tries"
    text = alert.message.get_body(("plain",)).get_content()
    assert "Try:       2" in text and "example_etl / load (try 1): " in text
    first_post = wait_until(lambda: posts(slack), what="the Slack alert")[0]
    assert "after 2 tries" in first_post["text"] and "thread_ts" not in first_post

    airflow_home.run_dags([SUCCEED], env)
    # The success resolves load's issue: one notice per target, each in the alert's thread.
    recovery = smtp.wait_for(2)[1]
    assert recovery.message["Subject"] == "[OtelMon] RECOVERED airflow / example_etl / load"
    assert recovery.message["In-Reply-To"] == alert.message["Message-ID"]
    thread = wait_until(lambda: posts(slack)[1:], what="the Slack recovery notice")[0]
    assert thread.get("thread_ts") and "recovered" in thread["text"].lower()
    issues = httpx.get(f"{failures_api.url}/api/v1/issues", params={"process": "load"}, timeout=30).json()["items"]
    assert [i["state"] for i in issues] == ["resolved"]

    airflow_home.run_dags([FAIL_LOAD], env)
    # Failing again after the recovery is news: alerted at once, though within the repeat interval.
    regression = smtp.wait_for(3)[2]
    assert regression.message["Subject"].startswith("[OtelMon] REGRESSED airflow / example_etl / load")
    assert len([s for s in subjects(smtp) if "transform" in s]) == 0
    assert len(smtp.received) == 3  # nothing else was sent
