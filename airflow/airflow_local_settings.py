"""Airflow cluster policy: every task of every DAG reports each try to OtelMon as a span.

Airflow imports this module from ``$AIRFLOW_HOME/config`` in every component. Opt out per DAG with the tag
``otelmon:off``, per task (or DAG, or run conf) with the param ``otelmon_trace: false``.

The import is deliberately unguarded: an image without the otelmon package should fail at start-up, not
run every pipeline silently without failure alerts.
"""

from otelmon.instrument.airflow import instrument_task

# Only the policy hook is meant for Airflow; anything else listed here would be copied into airflow.settings.
__all__ = ["task_policy"]


def task_policy(task) -> None:
    instrument_task(task)
