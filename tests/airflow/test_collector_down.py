"""With the collector down, a task's try still ends within the export bound and its outcome is unchanged."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.airflow.airflow_home import AirflowHome
from tests.airflow.conftest import otel_env
from tests.harness.otlp_sinks import HangingEndpoint
from tests.harness.ports import free_port

pytestmark = pytest.mark.slow

# The issue's target for a task with the collector down; the flush bound itself defaults to 3 s.
TARGET_SECONDS = 5.0
# The warm-up run absorbs dag.test()'s start-up (its in-process API), which is no task's own time.
RUNS = [{"dag_id": "warmup"}, {"dag_id": "example_etl", "conf": {"outcome": "retry", "target": "extract"}}]
EXPECTED_TRIES = sorted([
    ("extract", -1, 1, "up_for_retry"),
    ("extract", -1, 2, "success"),
    ("transform", 0, 1, "success"),
    ("transform", 1, 1, "success"),
    ("load", -1, 1, "success"),
])


@pytest.fixture
def hanging_endpoint() -> Iterator[str]:
    endpoint = HangingEndpoint().start()
    try:
        yield endpoint.url
    finally:
        endpoint.stop()


def refused_endpoint() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there


@pytest.mark.parametrize("down", ["refusing", "hanging"])
def test_task_ends_within_the_bound_with_its_own_result(down, airflow_home: AirflowHome, request):
    endpoint = request.getfixturevalue("hanging_endpoint") if down == "hanging" else refused_endpoint()
    log_start = _log_size(airflow_home)

    _, run = airflow_home.run_dags(RUNS, otel_env(endpoint))

    assert run["state"] == "success"
    tries = run["tries"]
    assert sorted((t["task_id"], t["map_index"], t["try_number"], t["state"]) for t in tries) == EXPECTED_TRIES
    slow = [(t["task_id"], t["map_index"], t["try_number"], round(t["seconds"], 2)) for t in tries
            if t["seconds"] >= TARGET_SECONDS]
    assert not slow, f"tries slower than {TARGET_SECONDS}s with the collector {down}: {slow}"
    log = _log_since(airflow_home, log_start)
    assert "could not deliver" in log or "spans not delivered" in log, "a lost export must be logged"


def _log_size(home: AirflowHome) -> int:
    log = home.path / "child.log"
    return log.stat().st_size if log.exists() else 0


def _log_since(home: AirflowHome, offset: int) -> str:
    with (home.path / "child.log").open("rb") as log:
        log.seek(offset)
        return log.read().decode(errors="replace")
