"""Airflow from PyPI running the DAGs with dag.test(), exporting through the OTel SDK to a loopback sink that
keeps every span and forwards each request to the real OtelMon API (on MariaDB), as the collector does."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.airflow.airflow_home import EXAMPLE_DAGS, TEST_DAGS, AirflowHome, AirflowUnavailable
from tests.harness.api_server import ApiServer
from tests.harness.mariadb import MariaDBServer
from tests.harness.otlp_sinks import HttpTraceSink

SERVICE = "airflow"


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> AirflowHome:
    dag_files = [EXAMPLE_DAGS / "example_etl.py", *sorted(TEST_DAGS.glob("*.py"))]
    try:
        return AirflowHome.create(tmp_path_factory.mktemp("airflow") / "home", dag_files)
    except AirflowUnavailable as exc:
        pytest.fail(str(exc))  # a missing Airflow is a broken set-up, never a skip


@pytest.fixture(scope="module")
def failures_api(mariadb_server: MariaDBServer) -> Iterator[FailuresApi]:
    """The OtelMon API on its own MariaDB database, shared by the tests of one module (each module's DAG
    runs happen once, up front, because dag.test() takes seconds to start)."""
    with mariadb_server.scratch_database(migrated=True) as url:
        server = ApiServer({"OTELMON_DATABASE_URL": url}).start()
        try:
            yield FailuresApi(server.url, url)
        finally:
            server.stop()


@dataclass
class FailuresApi:
    url: str
    database_url: str = ""

    def failures(self, group: str, run_id: str) -> list[dict]:
        """Stored failures of one DAG run (GET /api/v1/failures), oldest try first."""
        page = httpx.get(f"{self.url}/api/v1/failures", params={"group": group, "limit": 500}, timeout=30)
        page.raise_for_status()
        rows = [row for row in page.json()["items"] if row["run_id"] == run_id]
        return sorted(rows, key=lambda row: (row["process"], row["try_number"]))

    def failure(self, failure_id: int) -> dict:
        response = httpx.get(f"{self.url}/api/v1/failures/{failure_id}", timeout=30)
        response.raise_for_status()
        return response.json()


@pytest.fixture(scope="module")
def sink_to_api(failures_api: FailuresApi) -> Iterator[HttpTraceSink]:
    sink = HttpTraceSink(forward_to=failures_api.url).start()
    try:
        yield sink
    finally:
        sink.stop()


def otel_env(endpoint: str) -> dict[str, str]:
    return {"OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_SERVICE_NAME": SERVICE}
