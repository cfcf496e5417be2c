"""A small ETL whose tasks succeed, retry or fail on demand, to watch OtelMon react.

Trigger it with a conf (or the form in the UI):
    {"outcome": "fail", "target": "load"}
- ``outcome``: ``succeed`` (default), ``retry`` (the target task fails its first try, then succeeds) or
  ``fail`` (the target task fails every try);
- ``target``: ``extract``, ``transform`` (mapped over two batches: both instances fail) or ``load``.

It contains no tracing code at all: the cluster policy (airflow_local_settings.py) instruments every task.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import Param, dag, get_current_context, task

OUTCOMES = ["succeed", "retry", "fail"]
TARGETS = ["extract", "transform", "load"]


def fail_if_asked(step: str) -> None:
    context = get_current_context()
    params, try_number = context["params"], context["ti"].try_number
    if params["target"] != step:
        return
    if params["outcome"] == "fail":
        raise RuntimeError(f"{step} failed on demand (outcome=fail, try {try_number})")
    if params["outcome"] == "retry" and try_number == 1:
        raise RuntimeError(f"{step} failed its first try on demand (outcome=retry)")


# The same rule for the Bash task, in the Jinja the operator renders before it runs.
LOAD_COMMAND = """
{% set asked = params.target == 'load' %}
{% if asked and (params.outcome == 'fail' or (params.outcome == 'retry' and ti.try_number == 1)) %}
echo "load failed on demand (outcome={{ params.outcome }}, try {{ ti.try_number }})" >&2
exit 1
{% else %}
echo "loaded {{ ti.xcom_pull(task_ids='transform') | length }} batches"
{% endif %}
"""


@dag(
    dag_id="example_etl",
    schedule=None,
    catchup=False,
    tags=["otelmon", "example"],
    params={
        "outcome": Param("succeed", enum=OUTCOMES, description="What the target task does"),
        "target": Param("transform", enum=TARGETS, description="Which task obeys the outcome"),
    },
    # One quick retry, so a "retry" run shows a failed try followed by a successful one within seconds.
    default_args={"retries": 1, "retry_delay": timedelta(seconds=1)},
)
def example_etl():
    @task
    def extract() -> list[list[int]]:
        fail_if_asked("extract")
        return [[1, 2, 3], [4, 5]]

    @task
    def transform(batch: list[int]) -> int:
        fail_if_asked("transform")
        return sum(batch)

    load = BashOperator(task_id="load", bash_command=LOAD_COMMAND)

    transform.expand(batch=extract()) >> load


example_etl()
