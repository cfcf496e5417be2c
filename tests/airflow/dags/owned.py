"""A DAG with an owner and tags: its failures carry both, for routes that match on them (cluster policy)."""

from __future__ import annotations

from airflow.sdk import dag, task


@dag(dag_id="owned_by_billing", schedule=None, tags=["billing", "finance"],
     default_args={"retries": 0, "owner": "billing-team"})
def owned_by_billing():
    @task
    def charge() -> None:
        raise ValueError("card declined")

    @task(owner="alice")
    def refund() -> None:
        raise ValueError("no such payment")

    charge()
    refund()


owned_by_billing()
