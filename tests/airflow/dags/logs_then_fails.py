"""A task that logs, then fails: its failure carries the lines it logged (through the cluster policy)."""

from __future__ import annotations

import logging

from airflow.sdk import dag, task
from airflow.sdk.log import mask_secret


@dag(dag_id="logs_then_fails", schedule=None, default_args={"retries": 0})
def logs_then_fails():
    @task
    def load() -> None:
        log = logging.getLogger("etl.load")
        log.info("reading s3://bucket/orders.csv")
        log.warning("retrying the warehouse login with password=hunter2")
        # A secret Airflow knows by value (as a Variable or a connection's password would be): no shape
        # gives it away, Airflow's own masker must.
        mask_secret("partner-9f2c7e41")
        log.info("calling the partner API with partner-9f2c7e41")
        raise ValueError("column 7 is not a number")

    load()


logs_then_fails()
