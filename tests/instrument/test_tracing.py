"""``@traced`` and ``step()`` outside Airflow: identity, one failure per exception, causes, stack traces."""

from __future__ import annotations

import re

import pytest
from opentelemetry.trace import StatusCode

import trace_log

THIS_FILE = __file__


class LoadError(Exception):
    pass


def first_frame(stacktrace: str) -> str:
    return re.findall(r'^  File "([^"]+)"', stacktrace, flags=re.MULTILINE)[0]


def test_an_exception_through_a_step_is_one_failure_of_the_traced_function_with_the_step_as_cause(recorded):
    @trace_log.traced(platform="cron", group="nightly_billing", process="load", run_id="2026-12-01", try_number=2)
    def load(rows):
        with trace_log.step("validate", rows=len(rows)):
            raise ValueError("bad row 2")

    with pytest.raises(ValueError, match="bad row 2"):
        load(["7", "x"])

    spans = recorded.spans()
    outer, inner = spans["load"], spans["validate"]
    assert inner.parent.span_id == outer.context.span_id
    assert inner.status.status_code == outer.status.status_code == StatusCode.ERROR
    assert inner.attributes["otelmon.error.propagated"] is True and "otelmon.error.propagated" not in outer.attributes
    assert inner.attributes["rows"] == 2
    assert outer.attributes["otelmon.cause.steps"] == ("validate",)
    assert outer.attributes["otelmon.cause.types"] == ("ValueError",)
    assert outer.attributes["otelmon.cause.messages"] == ("bad row 2",)

    [failure] = recorded.failures()
    assert (failure.platform, failure.group, failure.process, failure.run_id, failure.try_number) == (
        "cron", "nightly_billing", "load", "2026-12-01", 2)
    assert (failure.span_id, failure.error_type, failure.error_message) == (
        format(outer.context.span_id, "016x"), "ValueError", "bad row 2")
    # The step keeps the try's identity, so a query for the process finds its steps in Tempo too.
    assert inner.attributes["otelmon.process"] == "load" and inner.attributes["otelmon.run_id"] == "2026-12-01"


def test_stack_traces_start_at_the_users_code_without_our_frames(recorded):
    @trace_log.traced
    def helper():
        raise KeyError("customer_id")

    @trace_log.traced
    def job():
        with trace_log.step("outer"), trace_log.step("inner"):
            helper()

    with pytest.raises(KeyError):
        job()
    for span in recorded.spans().values():
        [event] = span.events
        stacktrace = event.attributes["exception.stacktrace"]
        assert first_frame(stacktrace) == THIS_FILE, stacktrace
        assert "otelmon/instrument" not in stacktrace and "contextlib" not in stacktrace, stacktrace
        assert stacktrace.rstrip().endswith("KeyError: 'customer_id'")
    [failure] = recorded.failures()
    assert first_frame(failure.stacktrace) == THIS_FILE


def test_nested_steps_and_traced_calls_are_causes_from_the_outside_in(recorded):
    @trace_log.traced
    def parse(row):
        raise ValueError(f"not a number: {row!r}")

    @trace_log.traced
    def job():
        with trace_log.step("extract"), trace_log.step("validate"):
            parse("x")

    with pytest.raises(ValueError):
        job()
    spans = recorded.spans()
    # A traced function called under another traced call is a step of that call's try.
    assert spans["parse"].attributes["otelmon.step"].endswith(".<locals>.parse")
    assert spans["parse"].attributes["otelmon.process"].endswith(".<locals>.job")
    [failure] = recorded.failures()
    assert failure.process == "test_nested_steps_and_traced_calls_are_causes_from_the_outside_in.<locals>.job"
    steps = failure.attributes["span"]["otelmon.cause.steps"]
    assert steps[:2] == ["extract", "validate"] and steps[2].endswith(".parse")


def test_an_error_raised_from_a_step_error_keeps_the_step_as_its_cause(recorded):
    @trace_log.traced(process="load")
    def job():
        try:
            with trace_log.step("fetch"):
                raise ConnectionError("source down")
        except ConnectionError as exc:
            raise LoadError("could not load") from exc

    with pytest.raises(LoadError):
        job()
    [failure] = recorded.failures()
    assert failure.error_type.endswith("LoadError") and failure.error_message == "could not load"
    span = failure.attributes["span"]
    assert (span["otelmon.cause.steps"], span["otelmon.cause.types"]) == (["fetch"], ["ConnectionError"])


def test_a_step_error_the_job_handles_is_no_failure_and_no_cause_of_a_later_one(recorded):
    @trace_log.traced(process="load")
    def job(fail_later):
        for attempt in range(2):
            try:
                with trace_log.step(f"fetch {attempt}"):
                    if attempt == 0:
                        raise TimeoutError("slow source")
            except TimeoutError:
                continue
        if fail_later:
            raise LoadError("disk full")

    job(fail_later=False)
    assert recorded.spans()["fetch 0"].status.status_code == StatusCode.ERROR  # visible in the trace
    assert recorded.failures() == []

    recorded.memory.clear()
    with pytest.raises(LoadError):
        job(fail_later=True)
    [failure] = recorded.failures()
    assert failure.error_message == "disk full" and "otelmon.cause.steps" not in failure.attributes["span"]


def test_an_error_span_of_another_instrumentation_is_still_a_failure_of_its_own(recorded):
    other = recorded.provider.get_tracer("some.db.client")

    @trace_log.traced(process="load")
    def job():
        with other.start_as_current_span("SELECT sales"):  # records and marks ERROR itself, as SDKs do
            raise ValueError("deadlock")

    with pytest.raises(ValueError):
        job()
    foreign, ours = sorted(recorded.failures(), key=lambda f: f.span_name != "SELECT sales")
    assert (foreign.span_name, foreign.error_message) == ("SELECT sales", "deadlock")
    assert ours.process == "load" and ours.span_name.endswith(".job")


def test_defaults_outside_airflow(recorded, monkeypatch):
    @trace_log.traced
    def load():
        raise ValueError("x")

    with pytest.raises(ValueError):
        load()
    with pytest.raises(ValueError), trace_log.step("export"):  # a step alone is a try of its own
        raise ValueError("y")

    first, second = sorted(recorded.failures(), key=lambda f: f.span_name)
    assert first.process == "export" and second.process == "test_defaults_outside_airflow.<locals>.load"
    for failure in (first, second):
        assert failure.platform == "python"  # not "otel", not "airflow"
        assert failure.group == "pytest"  # the program: python -m pytest
        assert re.fullmatch(r"\d{8}T\d{6}Z-\d+-[0-9a-f]{6}", failure.run_id) and failure.try_number == 1
    assert first.run_id == second.run_id  # one run per process start

    recorded.memory.clear()
    monkeypatch.setenv("OTEL_SERVICE_NAME", "billing-jobs")
    with pytest.raises(ValueError), trace_log.step("export"):
        raise ValueError("z")
    assert [f.platform for f in recorded.failures()] == ["billing-jobs"]


def test_arguments_win_over_configure_which_wins_over_the_environment(recorded, monkeypatch):
    monkeypatch.setenv("OTELMON_PLATFORM", "env-platform")
    monkeypatch.setenv("OTELMON_GROUP", "env-group")
    monkeypatch.setenv("OTELMON_RUN_ID", "env-run")
    monkeypatch.setenv("OTELMON_TRY_NUMBER", "3")
    trace_log.configure(group="configured-group", run_id="configured-run")

    @trace_log.traced(run_id="argument-run", name="load")
    def job():
        raise ValueError("x")

    with pytest.raises(ValueError):
        job()
    [failure] = recorded.failures()
    assert (failure.platform, failure.group, failure.process, failure.run_id, failure.try_number) == (
        "env-platform", "configured-group", "load", "argument-run", 3)

    with pytest.raises(ValueError, match="try_number"):
        trace_log.configure(try_number=0)
    with pytest.raises(ValueError, match="group"):
        trace_log.configure(group=" ")
