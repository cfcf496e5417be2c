"""Retry-aware alerting and recovery notices (docs/design.md "Pipeline runs, issues and the alert policy"),
driven in this process on both databases: a try the scheduler will retry is held; its run's next try
decides; an alerted issue that resolves gets one recovery notice, in the alert's thread."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from email import message_from_bytes, policy

import pytest
from sqlalchemy import select

from otelmon.alerting import delivery
from otelmon.alerting.dispatch import dispatch_due
from otelmon.alerting.outbox import enqueue_created
from otelmon.clock import utcnow
from otelmon.ingest import FailureIngestor
from otelmon.runs.model import FAILED, FAILED_WILL_RETRY, SUCCESS, Run
from tests.alerting.conftest import open_db
from tests.digest.seed import failure

TEAM = "team@example.com"


@pytest.fixture
def db(database_url):
    engine, tables, settings = open_db(database_url, alert_recipients=[TEAM])
    yield engine, tables, settings, FailureIngestor(engine, tables, enqueue_created(tables, 0.0))
    engine.dispose()


def a_try(number: int, will_retry: bool, run: str = "scheduled__1", message: str = "bad row"):
    failed = replace(failure("load", group="etl", message=message), run_id=run, try_number=number,
                     will_retry=will_retry, end_time=utcnow() - timedelta(minutes=10 - number))
    outcome = FAILED_WILL_RETRY if will_retry else FAILED
    return failed, run_of(failed, outcome)


def run_of(f, outcome: str, number: int | None = None) -> Run:
    return Run(platform=f.platform, group=f.group, process=f.process, start_time=f.start_time,
               end_time=f.end_time, outcome=outcome, run_id=f.run_id, try_number=number or f.try_number,
               fingerprint=f.fingerprint if outcome != SUCCESS else None)


def alerted_and_sent(engine, tables, settings) -> delivery.Claimed:
    """Dispatch, then claim and record the one alert as delivered."""
    dispatch_due(engine, tables, settings, utcnow())
    (alert,) = delivery.claim(engine, tables, settings, utcnow())
    delivery.record(engine, tables, settings, [(alert, None)], utcnow())
    return alert


def outbox_states(engine, tables) -> list[str]:
    ob = tables.alert_outbox
    with engine.connect() as conn:
        return list(conn.execute(select(ob.c.state).order_by(ob.c.failure_id)).scalars())


def alerts(engine, tables) -> list:
    a = tables.alerts
    with engine.connect() as conn:
        return conn.execute(select(a).order_by(a.c.id)).all()


def test_a_try_that_the_next_try_fixes_is_never_alerted(db):
    engine, tables, settings, ingest = db
    first, run = a_try(1, will_retry=True)
    ingest.store([first], [run])
    stats = dispatch_due(engine, tables, settings, utcnow())
    assert (stats.alerted, stats.held_for_retry) == (0, 1)
    assert outbox_states(engine, tables) == ["retrying"]
    ingest.store([], [run_of(first, SUCCESS, number=2)])
    assert dispatch_due(engine, tables, settings, utcnow()).settled == 1
    assert outbox_states(engine, tables) == ["recovered"]
    assert alerts(engine, tables) == []


def test_the_last_try_failing_sends_one_alert_naming_every_try(db):
    engine, tables, settings, ingest = db
    first, run1 = a_try(1, will_retry=True, message="first try: timeout")
    ingest.store([first], [run1])
    dispatch_due(engine, tables, settings, utcnow())
    last, run2 = a_try(2, will_retry=False, message="second try: still timing out")
    ingest.store([last], [run2])
    stats = dispatch_due(engine, tables, settings, utcnow())
    assert (stats.alerted, stats.settled) == (1, 1)
    assert outbox_states(engine, tables) == ["superseded", "alerted"]
    (item,) = delivery.claim(engine, tables, settings, utcnow())
    assert item.message.subject == "[OtelMon] FAILED airflow / etl / load after 2 tries"
    body = message_from_bytes(item.message.data, policy=policy.default).get_body(("plain",)).get_content()
    assert "second try: still timing out" in body and "first try: timeout" in body and "load (try 1)" in body


def test_a_held_try_is_alerted_once_its_hold_deadline_passes_without_news(db):
    engine, tables, settings, ingest = db
    first, run = a_try(1, will_retry=True)
    ingest.store([first], [run])
    start = utcnow()
    dispatch_due(engine, tables, settings, start)
    assert dispatch_due(engine, tables, settings, start + timedelta(seconds=60)).alerted == 0
    later = start + timedelta(seconds=settings.alert_retry_hold_seconds + 1)
    assert dispatch_due(engine, tables, settings, later).alerted == 1
    assert outbox_states(engine, tables) == ["alerted"]


def test_alerting_on_every_try_is_one_setting_away(database_url):
    engine, tables, settings = open_db(database_url, alert_recipients=[TEAM], alert_every_try=True)
    try:
        first, run = a_try(1, will_retry=True)
        FailureIngestor(engine, tables, enqueue_created(tables, 0.0)).store([first], [run])
        assert dispatch_due(engine, tables, settings, utcnow()).alerted == 1
    finally:
        engine.dispose()


def test_a_resolved_issue_is_announced_once_as_a_reply_to_its_alert(db):
    engine, tables, settings, ingest = db
    failed, run = a_try(1, will_retry=False, run="scheduled__a")
    ingest.store([failed], [run])
    alert = alerted_and_sent(engine, tables, settings)

    success = replace(failed, run_id="scheduled__b", end_time=utcnow())
    ingest.store([], [run_of(success, SUCCESS)])
    assert dispatch_due(engine, tables, settings, utcnow()).recoveries == 1
    assert dispatch_due(engine, tables, settings, utcnow()).recoveries == 0  # once
    (notice,) = delivery.claim(engine, tables, settings, utcnow())
    assert notice.kind == "recovery" and notice.message.recipients == [TEAM]
    assert notice.message.subject == "[OtelMon] RECOVERED airflow / etl / load"
    parsed = message_from_bytes(notice.message.data, policy=policy.default)
    assert parsed["In-Reply-To"] == alert.message.message_id != parsed["Message-ID"]
    assert "This email was shortened" not in parsed.get_body(("plain",)).get_content()
    delivery.record(engine, tables, settings, [(notice, None)], utcnow())
    rows = alerts(engine, tables)
    assert [(r.kind, r.state) for r in rows] == [("failure", "sent"), ("recovery", "sent")]
    assert rows[0].recovered_by == rows[1].id


def test_a_route_that_does_not_ask_for_recovery_notices_gets_none(database_url, tmp_path):
    (tmp_path / "notify.yaml").write_text(
        "receivers:\n  - name: team\n    email: [team@example.com]\n"
        "routes:\n  - match: {group: etl}\n    receiver: team\n    send_resolved: false\n")
    engine, tables, settings = open_db(database_url, notify_config=tmp_path / "notify.yaml")
    try:
        ingest = FailureIngestor(engine, tables, enqueue_created(tables, 0.0))
        failed, run = a_try(1, will_retry=False)
        ingest.store([failed], [run])
        alerted_and_sent(engine, tables, settings)
        ingest.store([], [run_of(replace(failed, run_id="next", end_time=utcnow()), SUCCESS)])
        assert dispatch_due(engine, tables, settings, utcnow()).recoveries == 1
        assert delivery.claim(engine, tables, settings, utcnow()) == []
        notice = alerts(engine, tables)[1]
        assert notice.state == "cancelled" and "send_resolved" in notice.last_error
    finally:
        engine.dispose()


def test_after_a_recovery_notice_the_next_failure_is_alerted_as_news(db):
    engine, tables, settings, ingest = db
    failed, run = a_try(1, will_retry=False, run="scheduled__a")
    ingest.store([failed], [run])
    alerted_and_sent(engine, tables, settings)
    again, run = a_try(1, will_retry=False, run="scheduled__b")
    ingest.store([again], [run])
    assert dispatch_due(engine, tables, settings, utcnow()).suppressed == 1  # within the repeat interval
    ingest.store([], [run_of(replace(failed, run_id="scheduled__c", end_time=utcnow()), SUCCESS)])
    assert dispatch_due(engine, tables, settings, utcnow()).recoveries == 1
    regressed, run = a_try(1, will_retry=False, run="scheduled__d")
    ingest.store([regressed], [run])
    assert dispatch_due(engine, tables, settings, utcnow()).alerted == 1


def test_an_alert_says_how_long_its_issue_has_been_failing_and_a_regression_says_so(db):
    engine, tables, settings, ingest = db

    def alert_text() -> tuple[str, str]:
        dispatch_due(engine, tables, settings, utcnow())
        (item,) = delivery.claim(engine, tables, settings, utcnow())
        delivery.record(engine, tables, settings, [(item, None)], utcnow())
        body = message_from_bytes(item.message.data, policy=policy.default).get_body(("plain",)).get_content()
        return item.message.subject, body

    failed, run = a_try(1, will_retry=False, run="scheduled__a")
    ingest.store([failed], [run])
    assert "A new issue: the first time this error is seen here." in alert_text()[1]
    ingest.store([], [run_of(replace(failed, run_id="scheduled__b", end_time=utcnow()), SUCCESS)])
    dispatch_due(engine, tables, settings, utcnow())
    (notice,) = delivery.claim(engine, tables, settings, utcnow())
    delivery.record(engine, tables, settings, [(notice, None)], utcnow())
    back, _ = a_try(1, will_retry=False, run="scheduled__c")
    back = replace(back, end_time=utcnow())  # after the success that resolved it
    ingest.store([back], [run_of(back, FAILED)])
    subject, body = alert_text()
    assert subject == "[OtelMon] REGRESSED airflow / etl / load"
    assert "Regressed: this error had recovered and is back; seen 2 times since" in body


def test_two_replicas_settle_a_held_try_and_announce_a_recovery_once_each(mariadb_url):
    """Replicas dispatch side by side on MariaDB (row locks, SKIP LOCKED): each held try is settled by one
    of them, each recovery announced by one."""
    import threading

    engine, tables, settings = open_db(mariadb_url, alert_recipients=[TEAM])
    try:
        ingest = FailureIngestor(engine, tables, enqueue_created(tables, 0.0))
        held = []
        for n in range(40):
            failed, run = a_try(1, will_retry=True, run=f"scheduled__{n}")
            held.append(failed)
            ingest.store([failed], [run])
        dispatch_due(engine, tables, settings, utcnow())
        ingest.store([], [run_of(f, SUCCESS, number=2) for f in held[:20]])
        last = [a_try(2, will_retry=False, run=f"scheduled__{n}") for n in range(20, 40)]
        ingest.store([f for f, _ in last], [r for _, r in last])
        totals: list = []
        barrier = threading.Barrier(2)

        def replica() -> None:
            barrier.wait()
            totals.append(dispatch_due(engine, tables, settings, utcnow()))

        threads = [threading.Thread(target=replica) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sum(s.settled for s in totals) == 40 and sum(s.alerted for s in totals) == 1  # one fingerprint
        assert sorted(set(outbox_states(engine, tables))) == ["alerted", "recovered", "superseded", "suppressed"]

        (alert,) = delivery.claim(engine, tables, settings, utcnow())
        delivery.record(engine, tables, settings, [(alert, None)], utcnow())
        success = replace(held[0], run_id="scheduled__next", end_time=utcnow())
        ingest.store([], [run_of(success, SUCCESS)])
        totals.clear()
        barrier.reset()
        threads = [threading.Thread(target=replica) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sum(s.recoveries for s in totals) == 1
        assert [r.kind for r in alerts(engine, tables)] == ["failure", "recovery"]
    finally:
        engine.dispose()


def test_a_held_trace_is_decided_as_one_also_its_steps_that_do_not_know_their_run(db):
    engine, tables, settings, ingest = db
    task, run = a_try(1, will_retry=True)
    step = replace(failure("load.parse", group="etl"), trace_id=task.trace_id, run_id=None, try_number=None,
                   will_retry=True, parent_span_id=task.span_id)
    ingest.store([task, step], [run])
    dispatch_due(engine, tables, settings, utcnow())
    assert outbox_states(engine, tables) == ["retrying", "retrying"]
    ingest.store([], [run_of(task, SUCCESS, number=2)])
    later = utcnow() + timedelta(seconds=settings.alert_retry_hold_seconds + 1)  # past the deadline too
    dispatch_due(engine, tables, settings, later)
    assert outbox_states(engine, tables) == ["recovered", "recovered"]
    assert alerts(engine, tables) == []


def test_a_recovery_waits_for_an_alert_of_its_fingerprint_still_on_its_way(db):
    engine, tables, settings, ingest = db
    failed, run = a_try(1, will_retry=False, run="scheduled__a")
    ingest.store([failed], [run])
    dispatch_due(engine, tables, settings, utcnow())
    (alert,) = delivery.claim(engine, tables, settings, utcnow())
    delivery.record(engine, tables, settings, [(alert, RuntimeError("SMTP down"))], utcnow())  # retried later
    ingest.store([], [run_of(replace(failed, run_id="scheduled__b", end_time=utcnow()), SUCCESS)])
    assert dispatch_due(engine, tables, settings, utcnow()).recoveries == 0
    (again,) = delivery.claim(engine, tables, settings, utcnow() + timedelta(hours=1))
    delivery.record(engine, tables, settings, [(again, None)], utcnow())
    assert dispatch_due(engine, tables, settings, utcnow()).recoveries == 1


def test_a_retried_try_and_its_last_try_arriving_together_are_one_alert_for_the_last(db):
    # Airflow puts a run's tries in one trace; one export batch can carry both tries of a task.
    engine, tables, settings, ingest = db
    first, run1 = a_try(1, will_retry=True, message="first try: timeout")
    last, run2 = a_try(2, will_retry=False, message="second try: still timing out")
    last = replace(last, trace_id=first.trace_id)
    ingest.store([first, last], [run1, run2])
    stats = dispatch_due(engine, tables, settings, utcnow())
    assert (stats.alerted, stats.held_for_retry) == (1, 0)
    assert outbox_states(engine, tables) == ["superseded", "alerted"]
    (item,) = delivery.claim(engine, tables, settings, utcnow())
    assert item.message.subject == "[OtelMon] FAILED airflow / etl / load after 2 tries"
