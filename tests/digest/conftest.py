"""Digest fixtures: a scriptable SMTP sink on loopback and the schema on SQLite or the test MariaDB."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine

from otelmon.config import Settings
from otelmon.digest.options import DigestOptions
from otelmon.storage.database import create_db_engine
from otelmon.storage.migrate import migrate
from tests.digest.smtp import ScriptedSmtpSink

TEAM = "data-team@example.com"
MAIL_FROM = "otelmon@example.com"
GRAFANA = "http://grafana.example:3000"


@pytest.fixture
def smtp() -> Iterator[ScriptedSmtpSink]:
    sink = ScriptedSmtpSink().start()
    yield sink
    sink.stop()


def make_settings(database_url: str, smtp: ScriptedSmtpSink) -> Settings:
    return Settings(database_url=database_url, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_mail_from=MAIL_FROM,
                    smtp_timeout_seconds=5, grafana_url=GRAFANA)


def options(recipients: tuple[str, ...] = (TEAM,), window: timedelta = timedelta(hours=24),
            row_limit: int = 50) -> DigestOptions:
    return DigestOptions(recipients=list(recipients), window=window, row_limit=row_limit)


@pytest.fixture
def settings(database_url: str, smtp: ScriptedSmtpSink) -> Settings:
    return make_settings(database_url, smtp)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    eng = create_db_engine(settings)
    migrate(eng)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def digest_airflow_home(tmp_path_factory: pytest.TempPathFactory):
    """An isolated Airflow (tests/airflow/airflow_home.py) whose DAGs folder holds only the digest DAG, with
    the cluster policy installed as in the image."""
    from tests.airflow.airflow_home import EXAMPLE_DAGS, AirflowHome, AirflowUnavailable

    try:
        return AirflowHome.create(tmp_path_factory.mktemp("airflow-digest") / "home",
                                  [EXAMPLE_DAGS / "failed_process_alert_dag.py"])
    except AirflowUnavailable as exc:
        pytest.fail(str(exc))  # a missing Airflow is a broken set-up, never a skip
