"""DAGs that trace themselves (callbacks, @traced, step) instead of relying on the cluster policy."""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import dag, task

import trace_log

# The tag keeps the cluster policy away, so only what these DAGs add themselves can make spans.
NO_POLICY = [trace_log.OPT_OUT_TAG]


@dag(dag_id="callbacks_only", schedule=None, tags=NO_POLICY, default_args=trace_log.default_args({"retries": 0}))
def callbacks_only():
    failing = BashOperator(task_id="bash_fails", bash_command="echo 'disk full' >&2; exit 3")

    @task
    def python_ok() -> int:
        return 1

    # Opted out per task: its callbacks are there (default_args) but stay silent.
    quiet = BashOperator(task_id="quiet", bash_command="exit 0", params={trace_log.OPT_OUT_PARAM: False})

    [python_ok(), quiet] >> failing


@dag(dag_id="decorated_only", schedule=None, tags=NO_POLICY, default_args={"retries": 0})
def decorated_only():
    @task
    @trace_log.traced
    def crunch() -> None:
        with trace_log.step("parse"):
            rows = ["7", "x"]
        with trace_log.step("validate", rows=len(rows)):
            raise ValueError("bad row 2: 'x' is not a number")

    @task
    def untraced() -> None:
        return None

    untraced() >> crunch()


@dag(dag_id="both_ways", schedule=None,
     default_args=trace_log.default_args({"retries": 1, "retry_delay": timedelta(0)}))
def both_ways():
    # Policy, default_args callbacks and @traced all at once: still one span per try.
    @task
    @trace_log.traced
    def flaky() -> None:
        from airflow.sdk import get_current_context

        if get_current_context()["ti"].try_number == 1:
            raise ConnectionError("source not ready")

    flaky()


@dag(dag_id="traced_retry", schedule=None, tags=NO_POLICY,
     default_args={"retries": 1, "retry_delay": timedelta(0)})
def traced_retry():
    # @traced alone: the try's span ends before Airflow's callbacks, so it asks Airflow whether it will retry.
    @task
    @trace_log.traced
    def fetch() -> None:
        from airflow.sdk import get_current_context

        if get_current_context()["ti"].try_number == 1:
            raise ConnectionError("source not ready")

    fetch()


callbacks_only()
decorated_only()
both_ways()
traced_retry()
