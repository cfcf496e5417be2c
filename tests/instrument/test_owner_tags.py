"""Owner and tags on a try's spans, so routes can match them: a plain job's from configure() or the
environment, an Airflow try's from its task and DAG (the real dag.test() run is in tests/airflow)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

import trace_log
from otelmon.alerting.routing import Labels
from otelmon.instrument.airflow import try_identity


def labels_of(failure) -> Labels:
    # As the failures row stores it: the attributes as {"span": ..., "resource": ...}.
    return Labels.of_failure(SimpleNamespace(platform=failure.platform, group_name=failure.group,
                                             process_name=failure.process, attributes=failure.attributes))


def fail_in_a_step() -> None:
    @trace_log.traced(platform="cron", group="billing", name="load")
    def load():
        with trace_log.step("parse"):
            raise ValueError("x")

    with pytest.raises(ValueError):
        load()


def test_a_plain_job_carries_the_configured_owner_and_tags(recorded):
    trace_log.configure(owner="billing-team", tags=["finance", "daily", "finance"])
    fail_in_a_step()
    [failure] = recorded.failures()
    assert labels_of(failure) == Labels("cron", "billing", "load", "billing-team", ("finance", "daily"))
    # Its steps too, so Tempo finds them by owner.
    assert recorded.spans()["parse"].attributes["otelmon.owner"] == "billing-team"


def test_the_environment_gives_them_when_configure_does_not(recorded, monkeypatch):
    monkeypatch.setenv("OTELMON_OWNER", "ops")
    monkeypatch.setenv("OTELMON_TAGS", "nightly, ,finance,nightly")
    fail_in_a_step()
    [failure] = recorded.failures()
    assert labels_of(failure) == Labels("cron", "billing", "load", "ops", ("nightly", "finance"))


def test_without_them_no_attribute_is_set(recorded):
    fail_in_a_step()
    [failure] = recorded.failures()
    assert "otelmon.owner" not in failure.attributes["span"] and "otelmon.tags" not in failure.attributes["span"]
    assert labels_of(failure) == Labels("cron", "billing", "load")


def test_tags_must_be_a_list_of_strings():
    with pytest.raises(ValueError, match="tags must be a list of strings"):
        trace_log.configure(tags="finance")
    with pytest.raises(ValueError, match="owner must be a non-empty string"):
        trace_log.configure(owner=" ")


def test_an_airflow_try_takes_the_tasks_owner_and_the_dags_tags():
    dag = SimpleNamespace(tags={"finance", "billing"})
    task = SimpleNamespace(owner="billing-team", dag=dag)
    ti = SimpleNamespace(dag_id="billing_daily", task_id="load", run_id="r1", try_number=1, map_index=-1, task=task)
    identity = try_identity(ti)
    assert (identity.owner, identity.tags) == ("billing-team", ("billing", "finance"))
    assert identity.attributes()["otelmon.tags"] == ["billing", "finance"]
    # A callback's context may carry the task when the ti does not.
    bare = SimpleNamespace(**{**vars(ti), "task": None})
    assert try_identity(bare).owner is None and try_identity(bare, task).owner == "billing-team"
    assert try_identity(SimpleNamespace(**{**vars(ti), "task": SimpleNamespace(owner=None, dag=None)})).tags == ()
