"""The DAG failed_process_alert in real Airflow (dag.test()), on MariaDB, mailing a loopback SMTP server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from tests.digest.conftest import MAIL_FROM
from tests.digest.seed import digest_of, digests, failure, store
from tests.harness.otlp_sinks import HttpTraceSink

pytestmark = pytest.mark.slow

DAG_ID = "failed_process_alert"
DAG_INFO = Path(__file__).with_name("dag_info.py")
RECIPIENTS = ["ops@example.com", "data@example.com"]


def dag_info(home, extra_env: dict[str, str] | None = None) -> dict:
    done = subprocess.run([str(home.python), str(DAG_INFO)], env=home.env(extra_env), capture_output=True,
                          text=True, timeout=180, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_dag_parses_with_its_defaults_and_takes_the_schedule_from_a_variable_or_env(digest_airflow_home):
    info = dag_info(digest_airflow_home)
    assert info["import_errors"] == {}
    assert info["schedule"] == "*/30 * * * *"
    assert (info["catchup"], info["max_active_runs"]) == (False, 1)
    assert info["retries"] == 3 and info["retry_delay_seconds"] == 120
    # The cluster policy stays away (tag), so a retried try is no alert; a try failing for good still is.
    assert "otelmon:off" in info["tags"]
    assert info["callbacks"] == {"on_execute_callback": [], "on_success_callback": [], "on_retry_callback": [],
                                 "on_failure_callback": ["otelmon.instrument.airflow.on_failure"]}

    assert dag_info(digest_airflow_home, {"OTELMON_DIGEST_SCHEDULE": "0 * * * *"})["schedule"] == "0 * * * *"
    from_variable = dag_info(digest_airflow_home, {"OTELMON_DIGEST_SCHEDULE": "0 * * * *",
                                                   "AIRFLOW_VAR_OTELMON_DIGEST_SCHEDULE": "15 6 * * *"})
    assert from_variable["schedule"] == "15 6 * * *"


@pytest.fixture
def otlp_sink():
    sink = HttpTraceSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def dag_env(mariadb_url, smtp, otlp_sink) -> dict[str, str]:
    return {
        # The connection, not OTELMON_DATABASE_URL (which points nowhere here), must be what the task uses.
        "AIRFLOW_CONN_OTELMON_DB": mariadb_url.replace("mysql+pymysql://", "mysql://", 1),
        "OTELMON_DATABASE_URL": "sqlite:////nonexistent/otelmon.db",
        "AIRFLOW_VAR_OTELMON_DIGEST_RECIPIENTS": ", ".join(RECIPIENTS),
        "AIRFLOW_VAR_OTELMON_DIGEST_WINDOW": "6h",
        "OTELMON_SMTP_HOST": "127.0.0.1",
        "OTELMON_SMTP_PORT": str(smtp.port),
        "OTELMON_SMTP_MAIL_FROM": MAIL_FROM,
        "OTELMON_DIGEST_RETRY_DELAY_SECONDS": "1",
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_sink.url,
    }


@pytest.fixture
def db(mariadb_url):
    engine = create_engine(mariadb_url)
    yield engine
    engine.dispose()


def body(received) -> str:
    return received.message.get_body(("plain",)).get_content()


def test_runs_report_the_window_once_then_only_what_is_new(digest_airflow_home, dag_env, db, smtp, otlp_sink):
    store(db, [failure("inside", ended_ago=timedelta(hours=5)),
               failure("outside", ended_ago=timedelta(hours=7))])
    first, second = digest_airflow_home.run_dags([{"dag_id": DAG_ID}, {"dag_id": DAG_ID}], dag_env)
    assert (first["state"], second["state"]) == ("success", "success")  # nothing new: no email, still a success
    (mail,) = smtp.wait_for(1)
    assert sorted(mail.rcpt_tos) == sorted(RECIPIENTS)
    assert "inside" in body(mail) and "outside" not in body(mail)
    assert digest_of(db)["outside"] is None

    store(db, [failure("later", ended_ago=timedelta(minutes=2))])
    (third,) = digest_airflow_home.run_dags([{"dag_id": DAG_ID}], dag_env)
    assert third["state"] == "success"
    assert len(smtp.wait_for(2)) == 2
    assert "later" in body(smtp.received[1]) and "inside" not in body(smtp.received[1])
    assert [d["failure_count"] for d in digests(db)] == [1, 1]
    assert otlp_sink.received.spans == []  # healthy runs do not feed back into OtelMon


def test_smtp_failing_on_the_first_try_the_retry_sends_the_same_digest_once(
        digest_airflow_home, dag_env, db, smtp, otlp_sink):
    store(db, [failure("nightly_export")])
    smtp.refusals = ["451 4.3.0 temporary failure"]
    (run,) = digest_airflow_home.run_dags([{"dag_id": DAG_ID, "conf": {"recipients": "oncall@example.com"}}],
                                          dag_env)
    assert run["state"] == "success"
    assert [(t["try_number"], t["state"]) for t in run["tries"]] == [(1, "up_for_retry"), (2, "success")]
    (mail,) = smtp.wait_for(1)
    assert smtp.data_commands == 2 and mail.rcpt_tos == ["oncall@example.com"]
    (digest,) = digests(db)
    assert (digest["state"], digest["attempts"]) == ("sent", 2)
    assert mail.message["Message-ID"] == digest["message_id"]
    assert otlp_sink.received.spans == []  # the retried try is not an alert about the digest itself


def test_a_digest_that_really_fails_reports_one_failure(digest_airflow_home, dag_env, db, smtp, otlp_sink):
    store(db, [failure("orphan")])
    smtp.refusals = ["554 5.7.1 relay denied"] * 2
    (run,) = digest_airflow_home.run_dags([{"dag_id": DAG_ID}], {**dag_env, "OTELMON_DIGEST_RETRIES": "1"})
    assert run["state"] == "failed"
    assert [t["state"] for t in run["tries"]] == ["up_for_retry", "failed"]
    spans = otlp_sink.received.spans
    assert [(s.is_error, s.attributes["otelmon.group"], s.attributes["otelmon.try_number"]) for s in spans] == [
        (True, DAG_ID, 2)]
    assert "554" in spans[0].status_message or "554" in str(spans[0].event("exception"))
    (digest,) = digests(db)
    assert digest["state"] == "send_failed" and "554" in digest["last_error"]  # the next run resends it


def test_a_digest_the_cli_failed_to_send_goes_first_in_the_next_dag_run(digest_airflow_home, dag_env, db, smtp,
                                                                        mariadb_url):
    store(db, [failure("during_outage")])
    smtp.refusals = ["451 4.3.0 try again later"]
    cli_env = {**{k: v for k, v in os.environ.items() if not k.startswith("OTELMON_")},
               "OTELMON_DATABASE_URL": mariadb_url, "OTELMON_SMTP_HOST": "127.0.0.1",
               "OTELMON_SMTP_PORT": str(smtp.port), "OTELMON_SMTP_MAIL_FROM": MAIL_FROM,
               "OTELMON_DIGEST_RECIPIENTS": RECIPIENTS[0]}
    failed = subprocess.run([sys.executable, "-m", "otelmon.cli", "digest"], env=cli_env, capture_output=True,
                            text=True, timeout=60)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    (pending,) = digests(db)
    store(db, [failure("after_outage", ended_ago=timedelta(minutes=1))])

    (run,) = digest_airflow_home.run_dags([{"dag_id": DAG_ID}], dag_env)  # within the CLI run's lease
    assert run["state"] == "success" and [t["state"] for t in run["tries"]] == ["success"]
    resent, new = smtp.wait_for(2)
    assert resent.message["Message-ID"] == pending["message_id"] and "during_outage" in body(resent)
    assert "after_outage" in body(new) and "during_outage" not in body(new)
    assert [d["state"] for d in digests(db)] == ["sent", "sent"]
