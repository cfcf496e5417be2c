"""Attribute keys that identify a pipeline step, in the order DESIGN.md gives them (first match wins).

Our own instrumentation (``trace_log``, the NiFi scripts) sets the ``otelmon.*`` keys; the others let
Airflow's native spans, other NiFi integrations and the original OtelMon's ``etl.*`` spans keep working.
"""

PLATFORM = "otelmon.platform"
GROUP = "otelmon.group"
PROCESS = "otelmon.process"
RUN_ID = "otelmon.run_id"
TRY_NUMBER = "otelmon.try_number"

# Airflow's own task-instance span attributes (native OTel traces).
AIRFLOW_DAG_ID = ("airflow.dag_id", "airflow.task_instance.dag_id", "dag_id")
AIRFLOW_TASK_ID = ("airflow.task_id", "airflow.task_instance.task_id", "task_id")
AIRFLOW_RUN_ID = ("airflow.dag_run.run_id", "airflow.run_id", "airflow.task_instance.run_id", "run_id")
AIRFLOW_TRY_NUMBER = ("airflow.task_instance.try_number", "airflow.try_number", "try_number")

NIFI_PROCESS_GROUP = ("nifi.process_group.name", "nifi.process_group")
NIFI_PROCESSOR = ("nifi.processor.name", "nifi.processor")

LEGACY_PLATFORM = "etl.platform"
LEGACY_GROUP = "etl.group_name"
LEGACY_PROCESS = "etl.process_name"
LEGACY_ERROR = "etl.error"
LEGACY_ERROR_TYPE = "etl.error_type"
LEGACY_STACKTRACE = "etl.stacktrace"
LEGACY_START_TIME = "etl.start_time"
LEGACY_END_TIME = "etl.end_time"

SERVICE_NAME = "service.name"
HOST_NAME = "host.name"

EXCEPTION_EVENT = "exception"
EXCEPTION_TYPE = "exception.type"
EXCEPTION_MESSAGE = "exception.message"
EXCEPTION_STACKTRACE = "exception.stacktrace"

# Platform name used when nothing says which system a span came from.
FALLBACK_PLATFORM = "otel"
