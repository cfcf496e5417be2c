"""The links a failure's console page and its alerts carry out of OtelMon: the task try in Airflow 3's UI, the
processor on NiFi's canvas, and the failure's own console page; every part of a path quoted."""

from __future__ import annotations

import pytest

from otelmon.config import Settings
from otelmon.links import airflow_task_url, console_failure_url, nifi_processor_url

SETTINGS = Settings(airflow_url="https://airflow.example.com/", nifi_url="https://nifi.example.com:8443/nifi",
                    public_url="https://otelmon.example.com/")


def failure(**fields) -> dict:
    return {"platform": "airflow", "group": "daily_sales", "process": "load", "run_id": "manual__1", "try_number": 2,
            "attributes": {}, **fields}


@pytest.mark.parametrize(("given", "expected"), [
    (failure(), "https://airflow.example.com/dags/daily_sales/runs/manual__1/tasks/load?try_number=2"),
    # A run id holds ":" and "+" (a timestamp), a "/" would start another path step: all quoted.
    (failure(run_id="scheduled__2026-12-01T06:00:00+00:00/x", try_number=None),
     "https://airflow.example.com/dags/daily_sales/runs/scheduled__2026-12-01T06%3A00%3A00%2B00%3A00%2Fx/tasks/load"),
    # A mapped instance, as ingest names it without Airflow's keys ("task[3]").
    (failure(process="load[3]"), "https://airflow.example.com/dags/daily_sales/runs/manual__1/tasks/load/mapped/3"
                                 "?try_number=2"),
    # Airflow's own keys on the span win over a renamed otelmon.* identity.
    (failure(platform="otel", group="Sales", process="Load step", attributes={"span": {
        "airflow.dag_id": "daily sales", "airflow.task_id": "load", "airflow.dag_run.run_id": "r 1",
        "airflow.task_instance.map_index": -1}}),
     "https://airflow.example.com/dags/daily%20sales/runs/r%201/tasks/load?try_number=2"),
    (failure(run_id=None), None),
    (failure(platform="nifi"), None),
])
def test_an_airflow_task_try_links_to_its_page_in_airflow(given, expected):
    assert airflow_task_url(SETTINGS, given) == expected


def test_a_nifi_processor_is_linked_only_by_its_id():
    assert nifi_processor_url(SETTINGS, failure(platform="nifi", attributes={"span": {
        "nifi.processor.name": "PutDatabaseRecord"}})) is None
    span = {"nifi.processor.id": "0a1b-2c&3", "nifi.process_group.id": "root group"}
    assert nifi_processor_url(SETTINGS, failure(platform="nifi", attributes={"span": span})) == (
        "https://nifi.example.com:8443/nifi/?processGroupId=root%20group&componentIds=0a1b-2c%263")


def test_the_console_link_is_on_the_public_url():
    assert console_failure_url(SETTINGS, 42) == "https://otelmon.example.com/console/failures/42"
