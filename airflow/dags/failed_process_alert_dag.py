"""failed_process_alert: every 30 minutes, one email with every failure that no earlier digest reported.

The logic is ``otelmon.digest`` (the same as ``otelmon digest``); this file only schedules it. Nothing here
needs editing to configure it:
- schedule: the Airflow Variable ``otelmon_digest_schedule``, else env ``OTELMON_DIGEST_SCHEDULE``, else
  ``*/30 * * * *``; retries: env ``OTELMON_DIGEST_RETRIES`` (3), ``OTELMON_DIGEST_RETRY_DELAY_SECONDS`` (120);
- recipients and window: Variables ``otelmon_digest_recipients`` and ``otelmon_digest_window`` (``24h``),
  or the conf of a manual run, else ``OTELMON_DIGEST_*``;
- OtelMon's database: the connection ``otelmon_db`` (``AIRFLOW_CONN_OTELMON_DB``), else ``OTELMON_DATABASE_URL``.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

from airflow.sdk import Param, Variable, dag, task

import trace_log

DEFAULT_SCHEDULE = "*/30 * * * *"
SCHEDULE = Variable.get("otelmon_digest_schedule", default=os.environ.get("OTELMON_DIGEST_SCHEDULE", DEFAULT_SCHEDULE))


@dag(
    dag_id="failed_process_alert",
    schedule=SCHEDULE,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    catchup=False,
    # Runs never overlap; a run that overlaps anyway (a manual `otelmon digest`) still claims other failures.
    max_active_runs=1,
    # The digest must not alert about itself for an SMTP hiccup that a retry fixes: the cluster policy's
    # span per try is off (the tag), and only a try that fails for good reports a failure (on_failure).
    tags=["otelmon", trace_log.OPT_OUT_TAG],
    default_args={
        "retries": int(os.environ.get("OTELMON_DIGEST_RETRIES", "3")),
        "retry_delay": timedelta(seconds=float(os.environ.get("OTELMON_DIGEST_RETRY_DELAY_SECONDS", "120"))),
        "execution_timeout": timedelta(minutes=10),
        "on_failure_callback": trace_log.on_failure,
    },
    params={
        "recipients": Param(None, type=["null", "string"], description="Comma-separated; overrides the Variable"),
        "window": Param(None, type=["null", "string"], description="e.g. 24h or 90m; overrides the Variable"),
    },
    doc_md=__doc__,
)
def failed_process_alert():
    @task
    def send_digest(params: dict | None = None) -> dict:
        from otelmon.digest import airflow_task

        return airflow_task.run(params)

    send_digest()


failed_process_alert()
