"""One untraced no-op task: dag.test() spends its first seconds starting Airflow's in-process API, and a
timing test runs this first so that start-up is not counted against a traced task."""

from __future__ import annotations

from airflow.sdk import dag, task


@dag(dag_id="warmup", schedule=None, tags=["otelmon:off"])
def warmup():
    @task
    def noop() -> None:
        return None

    noop()


warmup()
