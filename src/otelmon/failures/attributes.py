"""Attribute keys that identify a pipeline step, in the order docs/design.md gives them (first match wins).

Our own instrumentation (``trace_log``, the NiFi scripts) sets the ``otelmon.*`` keys; the others let
Airflow's native spans, other NiFi integrations and the original OtelMon's ``etl.*`` spans keep working.
"""

PLATFORM = "otelmon.platform"
GROUP = "otelmon.group"
PROCESS = "otelmon.process"
RUN_ID = "otelmon.run_id"
TRY_NUMBER = "otelmon.try_number"
# Who owns the step (Airflow: the task's owner) and its tags (Airflow: the DAG's tags, a string array): routes
# of the receivers file match on them (otelmon.alerting.routing.Labels).
OWNER = "otelmon.owner"
TAGS = "otelmon.tags"

# Airflow's own task-instance span attributes (Airflow 3.3 native OTel traces, task_run.* spans);
# trace_log sets the same keys, so a query written for one finds the other.
AIRFLOW_DAG_ID = "airflow.dag_id"
AIRFLOW_TASK_ID = "airflow.task_id"
AIRFLOW_RUN_ID = "airflow.dag_run.run_id"
AIRFLOW_TRY_NUMBER = "airflow.task_instance.try_number"
AIRFLOW_MAP_INDEX = "airflow.task_instance.map_index"  # -1 when the task is not mapped
AIRFLOW_STATE = "airflow.task_instance.state"
AIRFLOW_LOGICAL_DATE = "airflow.dag_run.logical_date"
# No native key names the operator; named like the others.
AIRFLOW_OPERATOR = "airflow.task.operator"
# Native task_run spans are ERROR for every state but success; these are not failures of the task.
AIRFLOW_NOT_FAILED_STATES = frozenset({"skipped", "upstream_failed", "removed"})

# On a failing try's span: the scheduler will try again (Airflow: up_for_retry). Its run is failed_will_retry,
# and alerting may hold its failure until the last try tells (docs/design.md,
# "Pipeline runs, issues and the alert policy").
WILL_RETRY = "otelmon.will_retry"
AIRFLOW_UP_FOR_RETRY = "up_for_retry"

# A named sub-step inside a task try (``trace_log.step``); the span keeps the try's identity.
STEP = "otelmon.step"
# Set by our instrumentation on a step whose exception left it for an enclosing span of the same try: that
# span reports the failure (or the job handled the error), so ingest does not store the step as one.
ERROR_PROPAGATED = "otelmon.error.propagated"
# On the span that reports a failure: the steps its exception passed through, outermost first, with the
# error each recorded (parallel arrays: OTel attribute values cannot nest). The email lists them as causes.
CAUSE_STEPS = "otelmon.cause.steps"
CAUSE_TYPES = "otelmon.cause.types"
CAUSE_MESSAGES = "otelmon.cause.messages"
# On the span that reports a failure: the last lines the try logged, masked, newline-separated, oldest first
# (``otelmon.instrument.log_tail``). Stored in the failure's ``log_tail``, shown under the error.
LOG_TAIL = "otelmon.log.tail"

NIFI_PROCESS_GROUP = ("nifi.process_group.name", "nifi.process_group")
NIFI_PROCESSOR = ("nifi.processor.name", "nifi.processor")
# The ids NiFi gives the processor and its process group: what a link to the processor in the NiFi UI needs
# (a name is not unique). Set by other integrations; OtelMon's own NiFi scripts know only the names.
NIFI_PROCESSOR_ID = "nifi.processor.id"
NIFI_PROCESS_GROUP_ID = "nifi.process_group.id"

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
