"""Run DAGs with ``dag.test()`` in this process and write what happened as JSON.

Run with the Airflow venv's python, in an AIRFLOW_HOME prepared by ``airflow_home.py`` (whose
``config/airflow_local_settings.py`` is the cluster policy under test):

    python run_dags.py OUT.json '[{"dag_id": "example_etl", "conf": {"outcome": "fail"}}, ...]'

DAGs come from the configured DAGs folder through a DagBag, as Airflow's own parsing loads them, so the
cluster policy applies exactly as it does in a deployment. Several runs share one process on purpose:
dag.test() spends ~10 s starting its in-process API before the first task, and only once.

Each try's wall time is measured around Airflow's in-process task runner, so it includes the task's
callbacks (where the span is ended and flushed): that is the time a collector outage can add. The time
spent in the callbacks alone is recorded too: it is what tracing costs a try, free of Airflow's own noise.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    out_path, runs = Path(argv[1]), json.loads(argv[2])

    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk.execution_time import supervisor, task_runner

    tries: list[dict] = []
    callback_seconds: dict[tuple, float] = {}
    run_in_process = supervisor.run_task_in_process
    run_callbacks = task_runner._run_task_state_change_callbacks

    def timed_callbacks(task, kind, context, log):
        started = time.perf_counter()
        try:
            run_callbacks(task, kind, context, log)
        finally:
            ti = context["ti"]
            key = (ti.run_id, ti.task_id, ti.map_index, ti.try_number)
            callback_seconds[key] = callback_seconds.get(key, 0.0) + time.perf_counter() - started

    def timed(ti, task):
        started = time.monotonic()
        result = run_in_process(ti=ti, task=task)
        tries.append({
            "dag_id": ti.dag_id,
            "task_id": ti.task_id,
            "map_index": ti.map_index,
            "try_number": ti.try_number,
            "run_id": ti.run_id,
            "state": getattr(result.ti.state, "value", str(result.ti.state)),
            "seconds": time.monotonic() - started,
            "callback_seconds": callback_seconds.get((ti.run_id, ti.task_id, ti.map_index, ti.try_number), 0.0),
        })
        return result

    # Both are looked up as module globals at each call, so replacing them on their modules is enough.
    supervisor.run_task_in_process = timed
    task_runner._run_task_state_change_callbacks = timed_callbacks

    bag = DagBag()
    if bag.import_errors:
        raise SystemExit(f"DAG import errors: {bag.import_errors}")
    results = []
    for run in runs:
        dag = bag.get_dag(run["dag_id"])
        if dag is None:
            raise SystemExit(f"no DAG {run['dag_id']!r} in {sorted(bag.dag_ids)}")
        started = time.monotonic()
        dag_run = dag.test(run_conf=run.get("conf") or None)
        results.append({
            "dag_id": dag.dag_id,
            "run_id": dag_run.run_id,
            "state": getattr(dag_run.state, "value", str(dag_run.state)),
            "seconds": time.monotonic() - started,
            "tries": [t for t in tries if t["run_id"] == dag_run.run_id],
        })
    out_path.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
