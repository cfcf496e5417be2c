"""Real DAG runs (dag.test()) through the real API: each try is a run, a try Airflow will retry is marked so
(``otelmon.will_retry``), and a task that succeeds on its retry resolves the issue its first try opened."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.airflow.airflow_home import AirflowHome
from tests.airflow.conftest import FailuresApi, otel_env
from tests.harness.otlp_sinks import HttpTraceSink

pytestmark = pytest.mark.slow

RUNS = {
    "policy": {"dag_id": "example_etl", "conf": {"outcome": "retry", "target": "transform"}},
    "traced": {"dag_id": "traced_retry"},
    "fail": {"dag_id": "example_etl", "conf": {"outcome": "fail", "target": "load"}},
}


@pytest.fixture(scope="module")
def runs(airflow_home: AirflowHome, sink_to_api: HttpTraceSink) -> dict[str, dict]:
    results = airflow_home.run_dags(list(RUNS.values()), otel_env(sink_to_api.url))
    return dict(zip(RUNS, results, strict=True))


def stored_runs(api: FailuresApi, group: str, run_id: str) -> list[tuple[str, int, str]]:
    engine = create_engine(api.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT process_name, try_number, outcome FROM runs"
                                     " WHERE group_name = :g AND run_id = :r ORDER BY process_name, try_number"),
                                {"g": group, "r": run_id})
            return [tuple(row) for row in rows]
    finally:
        engine.dispose()


def issues_of(api: FailuresApi, group: str, process: str) -> list[dict]:
    page = httpx.get(f"{api.url}/api/v1/issues", params={"group": group, "process": process}, timeout=30)
    page.raise_for_status()
    return page.json()["items"]


@pytest.mark.parametrize(("label", "group", "process"), [
    ("policy", "example_etl", "transform[0]"),  # the cluster policy's callbacks: on_retry_callback
    ("traced", "traced_retry", "fetch"),  # @traced alone: Airflow's should_retry, asked when the try fails
])
def test_a_try_that_airflow_retries_is_failed_will_retry_and_the_success_resolves_its_issue(
        runs, failures_api: FailuresApi, label: str, group: str, process: str):
    run = runs[label]
    assert run["state"] == "success"
    tries = [row for row in stored_runs(failures_api, group, run["run_id"]) if row[0] == process]
    assert tries == [(process, 1, "failed_will_retry"), (process, 2, "success")]
    [failure] = [row for row in failures_api.failures(group, run["run_id"]) if row["process"] == process]
    assert failure["will_retry"] is True and failure["try_number"] == 1
    [issue] = issues_of(failures_api, group, process)
    assert issue["fingerprint"] == failure["fingerprint"]
    assert (issue["state"], issue["consecutive_failed_runs"], issue["last_run_outcome"]) == ("resolved", 0, "success")


def test_a_task_failing_every_try_is_one_failed_run_after_a_retried_one(runs, failures_api: FailuresApi):
    run = runs["fail"]
    tries = [row for row in stored_runs(failures_api, "example_etl", run["run_id"]) if row[0] == "load"]
    assert tries == [("load", 1, "failed_will_retry"), ("load", 2, "failed")]
    assert [row["will_retry"] for row in failures_api.failures("example_etl", run["run_id"])] == [True, False]
    [issue] = issues_of(failures_api, "example_etl", "load")
    # The second try failing is the issue failing again; only the last try counts as a failed run.
    assert (issue["state"], issue["occurrences"], issue["consecutive_failed_runs"]) == ("ongoing", 2, 1)
