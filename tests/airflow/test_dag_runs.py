"""Task tries of real DAG runs become spans, and their failures become one OtelMon failure row per try."""

from __future__ import annotations

import ast
import re
import socket
from datetime import datetime

import pytest

from otelmon.alerting.routing import Labels
from otelmon.instrument.spans import run_trace_id
from tests.airflow.airflow_home import EXAMPLE_DAGS, AirflowHome
from tests.airflow.conftest import SERVICE, FailuresApi, otel_env
from tests.harness.otlp_sinks import HttpTraceSink, ReceivedSpan

pytestmark = pytest.mark.slow

RUNS = {
    "retry": {"dag_id": "example_etl", "conf": {"outcome": "retry", "target": "transform"}},
    "fail": {"dag_id": "example_etl", "conf": {"outcome": "fail", "target": "load"}},
    "callbacks": {"dag_id": "callbacks_only"},
    "decorated": {"dag_id": "decorated_only"},
    "both": {"dag_id": "both_ways"},
    "logs": {"dag_id": "logs_then_fails"},
    "owned": {"dag_id": "owned_by_billing"},
}


@pytest.fixture(scope="module")
def runs(airflow_home: AirflowHome, sink_to_api: HttpTraceSink) -> dict[str, dict]:
    results = airflow_home.run_dags(list(RUNS.values()), otel_env(sink_to_api.url))
    return dict(zip(RUNS, results, strict=True))


def spans_of(sink: HttpTraceSink, run: dict) -> list[ReceivedSpan]:
    return sink.received.matching(**{"otelmon.run_id": run["run_id"]})


def task_spans(sink: HttpTraceSink, run: dict) -> dict[tuple[str, int], ReceivedSpan]:
    """The try spans of a run (sub-steps left out), by (process, try number)."""
    found: dict[tuple[str, int], ReceivedSpan] = {}
    for span in spans_of(sink, run):
        if "otelmon.step" in span.attributes:
            continue
        key = (span.attributes["otelmon.process"], span.attributes["otelmon.try_number"])
        assert key not in found, f"two spans for the try {key}"
        found[key] = span
    return found


def rows(api: FailuresApi, run: dict) -> list[tuple[str, int]]:
    return [(row["process"], row["try_number"]) for row in api.failures(run["dag_id"], run["run_id"])]


def test_failing_task_is_one_failure_row_per_failed_try(runs, sink_to_api, failures_api):
    run = runs["fail"]
    assert run["state"] == "failed"
    assert rows(failures_api, run) == [("load", 1), ("load", 2)]

    for row in failures_api.failures("example_etl", run["run_id"]):
        assert (row["platform"], row["group"], row["run_id"]) == ("airflow", "example_etl", run["run_id"])
        assert row["error_type"] == "airflow.sdk.exceptions.AirflowException"  # OTel: the qualified name
        assert row["trace_id"] == run_trace_id("example_etl", run["run_id"])
        detail = failures_api.failure(row["id"])
        assert "Traceback (most recent call last)" in detail["stacktrace"]
        assert "Bash command failed" in detail["stacktrace"]

    spans = task_spans(sink_to_api, run)
    first, second = spans[("load", 1)], spans[("load", 2)]
    assert first.is_error and first.attributes["airflow.task_instance.state"] == "up_for_retry"
    assert second.is_error and second.attributes["airflow.task_instance.state"] == "failed"


def test_retried_task_reports_its_failed_try_and_then_succeeds(runs, sink_to_api, failures_api):
    run = runs["retry"]
    assert run["state"] == "success"
    # transform is mapped over two batches: each instance fails its first try on its own.
    assert rows(failures_api, run) == [("transform[0]", 1), ("transform[1]", 1)]

    spans = task_spans(sink_to_api, run)
    for index in (0, 1):
        failed, retried = spans[(f"transform[{index}]", 1)], spans[(f"transform[{index}]", 2)]
        assert failed.is_error and "failed its first try on demand" in failed.status_message
        assert not retried.is_error
        assert retried.attributes["airflow.task_instance.map_index"] == index


def test_every_try_has_a_span_and_a_run_is_one_trace(runs, sink_to_api):
    traces = set()
    for label in ("retry", "fail"):
        run = runs[label]
        spans = task_spans(sink_to_api, run)
        tries = {(_process(t), t["try_number"]) for t in run["tries"]}
        assert set(spans) == tries
        assert {span.trace_id for span in spans.values()} == {run_trace_id("example_etl", run["run_id"])}
        traces.add(run_trace_id("example_etl", run["run_id"]))
    assert len(traces) == 2, "two runs of one DAG must be two traces"


def test_span_describes_the_task_try(runs, sink_to_api):
    run = runs["fail"]
    spans = task_spans(sink_to_api, run)
    extract, load = spans[("extract", 1)], spans[("load", 2)]

    assert load.name == "load" and spans[("transform[1]", 1)].name == "transform[1]"
    assert load.attributes["airflow.task.operator"] == "BashOperator"
    assert extract.attributes["airflow.task.operator"] == "@task"
    assert load.attributes["airflow.dag_id"] == "example_etl" and load.attributes["airflow.task_id"] == "load"
    assert load.attributes["airflow.dag_run.run_id"] == run["run_id"]
    assert load.attributes["airflow.task_instance.try_number"] == 2
    assert load.attributes["airflow.task_instance.map_index"] == -1
    assert datetime.fromisoformat(load.attributes["airflow.dag_run.logical_date"]).tzinfo is not None
    assert load.attributes["host.name"] == socket.gethostname()
    assert load.resource["service.name"] == SERVICE

    exception = load.event("exception")
    assert exception is not None
    assert exception["exception.type"].endswith("AirflowException")
    assert "non-zero exit code" in exception["exception.message"]
    assert "Traceback" in exception["exception.stacktrace"]


def test_cluster_policy_instruments_a_dag_that_never_imports_trace_log(runs, sink_to_api):
    tree = ast.parse((EXAMPLE_DAGS / "example_etl.py").read_text())
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert not imported & {"trace_log", "otelmon"}
    assert len(task_spans(sink_to_api, runs["retry"])) == len(runs["retry"]["tries"]) == 6


def test_callbacks_in_default_args_trace_any_operator(runs, sink_to_api, failures_api):
    run = runs["callbacks"]
    spans = task_spans(sink_to_api, run)
    assert spans[("bash_fails", 1)].is_error and not spans[("python_ok", 1)].is_error
    assert rows(failures_api, run) == [("bash_fails", 1)]


def test_opting_out_leaves_no_span(runs, sink_to_api):
    # "quiet" has the callbacks but the param otelmon_trace=False; "untraced" is in a DAG tagged otelmon:off.
    assert ("quiet", 1) not in task_spans(sink_to_api, runs["callbacks"])
    assert set(task_spans(sink_to_api, runs["decorated"])) == {("crunch", 1)}


def test_traced_task_and_its_steps_are_one_failure(runs, sink_to_api, failures_api):
    run = runs["decorated"]
    spans = spans_of(sink_to_api, run)
    by_name = {span.name: span for span in spans}
    assert set(by_name) == {"crunch", "parse", "validate"}
    crunch, parse, validate = by_name["crunch"], by_name["parse"], by_name["validate"]

    assert parse.parent_span_id == validate.parent_span_id == crunch.span_id
    assert not parse.is_error and validate.is_error and crunch.is_error
    assert validate.attributes["otelmon.step"] == "validate" and validate.attributes["rows"] == 2
    for span in spans:  # the identity of the try, on every span of it
        assert span.attributes["otelmon.process"] == "crunch"
        assert span.attributes["otelmon.try_number"] == 1

    [row] = failures_api.failures("decorated_only", run["run_id"])
    assert (row["process"], row["try_number"], row["error_type"]) == ("crunch", 1, "ValueError")
    assert "bad row 2" in row["error_message"]
    # The try's span owns the failure and names the step it came through; the step says it passed it on.
    assert validate.attributes["otelmon.error.propagated"] is True
    assert crunch.attributes["otelmon.cause.steps"] == ["validate"]
    stacktrace = failures_api.failure(row["id"])["stacktrace"]
    assert re.findall(r'File "([^"]+)"', stacktrace)[0].endswith("explicit_tracing.py"), stacktrace


def test_policy_callbacks_and_decorator_together_still_make_one_span_per_try(runs, sink_to_api, failures_api):
    run = runs["both"]
    spans = task_spans(sink_to_api, run)
    assert set(spans) == {("flaky", 1), ("flaky", 2)}
    assert spans[("flaky", 1)].is_error and not spans[("flaky", 2)].is_error
    assert rows(failures_api, run) == [("flaky", 1)]


def test_a_failing_task_carries_the_lines_it_logged_masked(runs, sink_to_api, failures_api):
    run = runs["logs"]
    assert run["state"] == "failed"
    span = task_spans(sink_to_api, run)[("load", 1)]
    tail = span.attributes["otelmon.log.tail"]
    assert "etl.load: reading s3://bucket/orders.csv" in tail
    assert "etl.load: retrying the warehouse login with password=***" in tail and "hunter2" not in tail
    assert "etl.load: calling the partner API with ***" in tail and "partner-9f2c7e41" not in tail
    [row] = failures_api.failures("logs_then_fails", run["run_id"])
    assert failures_api.failure(row["id"])["log_tail"] == tail.split("\n")


def _process(attempt: dict) -> str:
    index = attempt["map_index"]
    return attempt["task_id"] if index is None or index < 0 else f"{attempt['task_id']}[{index}]"


def test_a_failure_carries_the_tasks_owner_and_the_dags_tags_for_routing(runs, failures_api):
    run = runs["owned"]
    assert rows(failures_api, run) == [("charge", 1), ("refund", 1)]
    found = []
    for row in failures_api.failures("owned_by_billing", run["run_id"]):
        stored = failures_api.failure(row["id"])  # the attributes as stored: {"span": ..., "resource": ...}
        found.append(Labels.of_failure({"platform": stored["platform"], "group_name": stored["group"],
                                        "process_name": stored["process"], "attributes": stored["attributes"]}))
    assert found == [
        Labels("airflow", "owned_by_billing", "charge", owner="billing-team", tags=("billing", "finance")),
        Labels("airflow", "owned_by_billing", "refund", owner="alice", tags=("billing", "finance")),
    ]
