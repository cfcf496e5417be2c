"""Print the failed_process_alert DAG as Airflow parsed it, as JSON (run with the Airflow venv's python in an
AIRFLOW_HOME prepared by tests/airflow/airflow_home.py, whose cluster policy then applies as deployed)."""

from __future__ import annotations

import json
import sys


def main() -> int:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag()
    dag = bag.get_dag("failed_process_alert")
    task = dag.get_task("send_digest") if dag else None
    print(json.dumps({
        "import_errors": {str(k): str(v) for k, v in bag.import_errors.items()},
        "schedule": dag.timetable.expression,
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "tags": sorted(dag.tags),
        "retries": task.retries,
        "retry_delay_seconds": task.retry_delay.total_seconds(),
        "callbacks": {name: [f"{cb.__module__}.{cb.__name__}" for cb in (getattr(task, name) or [])]
                      for name in ("on_execute_callback", "on_success_callback", "on_retry_callback",
                                   "on_failure_callback")},
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
