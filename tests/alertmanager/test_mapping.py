"""Alertmanager alerts as failures and runs (otelmon.alertmanager.mapping), and what the ingest pipeline makes
of them on both databases: one failure per firing however often it is re-sent, its issue resolved by the
resolved notification, regressed by a new firing."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import ValidationError

from otelmon.alertmanager.mapping import to_records
from otelmon.alertmanager.webhook import MAX_ALERTS, WebhookMessage
from otelmon.config import Settings
from otelmon.failures.model import pipeline_key
from otelmon.ingest import FailureIngestor
from otelmon.storage.database import create_db_engine
from otelmon.storage.migrate import migrate
from otelmon.storage.tables import Tables
from tests.alertmanager.payloads import alert, message


def records(*alerts: dict):
    return to_records(WebhookMessage.model_validate(message(*alerts)))


def test_a_firing_alert_is_a_failure_of_its_step():
    [failure] = records(alert()).failures
    assert (failure.platform, failure.group, failure.process) == ("prometheus", "otelmon-api",
                                                                  "OtelMonApiDown @ otelmon-api:8090")
    assert failure.error_type == "OtelMonApiDown"
    assert failure.error_message == "The OtelMon API is down\n\nPrometheus cannot scrape otelmon-api:8090."
    # Nanoseconds cut to microseconds, stored as naive UTC.
    assert failure.start_time == failure.end_time == datetime(2026, 11, 30, 10, 0, 0, 123456)
    assert failure.host == "otelmon-api:8090"
    assert failure.attributes["alertmanager"]["fingerprint"] == "a1b2c3d4e5f60718"
    assert failure.attributes["alertmanager"]["labels"]["severity"] == "critical"


def test_without_job_or_instance_the_step_is_the_stack_and_the_alertname():
    [failure] = records(alert(job=None, instance=None)).failures
    assert (failure.group, failure.process) == ("stack", "OtelMonApiDown")


def test_identity_is_the_fingerprint_and_start():
    [first] = records(alert()).failures
    [resent] = records(alert(summary="reworded")).failures
    [other_instance] = records(alert(fingerprint="ffff000011112222")).failures
    [fired_again] = records(alert(starts="2026-11-30T11:00:00Z")).failures
    assert first.identity_key == resent.identity_key
    assert len({first.identity_key, other_instance.identity_key, fired_again.identity_key}) == 3
    # The issue is the step's: a new firing of the same alert is the same issue.
    assert first.fingerprint == fired_again.fingerprint


def test_a_resolved_alert_is_a_successful_run_of_the_same_step_ending_at_ends_at():
    got = records(alert("resolved"), alert(fingerprint="0000111122223333", name="Other"))
    [failure] = got.failures
    [run] = got.runs
    assert failure.process == "Other @ otelmon-api:8090"
    assert (run.platform, run.group, run.process, run.outcome) == ("prometheus", "otelmon-api",
                                                                   "OtelMonApiDown @ otelmon-api:8090", "success")
    assert run.end_time == datetime(2026, 11, 30, 10, 5)
    [firing] = records(alert()).failures
    assert run.pipeline_key == pipeline_key(firing.platform, firing.group, firing.process)
    assert run.identity_key != firing.identity_key


@pytest.mark.parametrize("change", [
    {"version": "3"},
    {"status": "pending"},
    {"alerts": [{**alert(), "fingerprint": ""}]},
    {"alerts": [{**alert(), "startsAt": "yesterday"}]},
    {"alerts": [{k: v for k, v in alert().items() if k != "labels"}]},
    {"alerts": [alert()] * (MAX_ALERTS + 1)},
    {"alerts": [{**alert(), "labels": {"alertname": "x" * 70000}}]},
])
def test_bodies_that_are_not_alertmanager_webhooks_are_refused(change: dict):
    with pytest.raises(ValidationError):
        WebhookMessage.model_validate({**message(alert()), **change})


def test_fields_alertmanager_may_add_later_are_ignored():
    body = message({**alert(), "silencedBy": []})
    body["someNewField"] = {"x": 1}
    assert len(to_records(WebhookMessage.model_validate(body)).failures) == 1


def _issues(engine) -> list[tuple[str, str, int]]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT process_name, state, occurrences FROM issues ORDER BY id").all()
    return [tuple(row) for row in rows]


def test_through_the_ingest_pipeline_resent_once_resolved_then_regressed(database_url: str):
    engine = create_db_engine(Settings(database_url=database_url))
    try:
        migrate(engine)
        ingestor = FailureIngestor(engine, Tables.reflect(engine))
        firing = records(alert())
        first = ingestor.store(firing.failures, firing.runs)
        assert len(first.created_ids) == 1
        again = records(alert(summary="re-sent at the repeat interval"))
        resent = ingestor.store(again.failures, again.runs)
        assert (resent.created_ids, resent.duplicates) == ([], 1)
        assert [state for _, state, _ in _issues(engine)] == ["new"]

        resolved = records(alert("resolved"))
        ingestor.store(resolved.failures, resolved.runs)
        assert _issues(engine) == [("OtelMonApiDown @ otelmon-api:8090", "resolved", 1)]
        ingestor.store(resolved.failures, resolved.runs)  # a re-sent resolution: one run
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM runs").scalar() == 1

        refired = records(alert(starts="2026-11-30T11:00:00Z"))
        assert len(ingestor.store(refired.failures, refired.runs).created_ids) == 1
        assert _issues(engine) == [("OtelMonApiDown @ otelmon-api:8090", "regressed", 2)]
    finally:
        engine.dispose()
