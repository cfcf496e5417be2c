"""Recipients are resolved when an alert is sent; Message-IDs carry the installation id (both databases)."""

from __future__ import annotations

import json
import re
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select

from otelmon.alerting import admin, delivery
from otelmon.alerting.dispatch import dispatch_due
from otelmon.clock import utcnow
from otelmon.config import AlertRoute, Settings
from otelmon.storage.database import create_db_engine
from otelmon.storage.installation import ensure_installation_id
from otelmon.storage.migrate import migrate
from tests.alerting.conftest import open_db
from tests.digest.seed import failure, store

TEAM = "team@example.com"


@pytest.fixture
def db(database_url):
    engine, tables, settings = open_db(database_url)
    yield engine, tables, settings
    engine.dispose()


def alerts(engine, tables) -> list:
    a = tables.alerts
    with engine.connect() as conn:
        return conn.execute(select(a).order_by(a.c.id)).all()


def sent(claimed: list[delivery.Claimed], engine, tables, settings) -> None:
    delivery.record(engine, tables, settings, [(item, None) for item in claimed], utcnow())


def test_an_alert_without_recipients_waits_unroutable_untried_until_configuration_routes_it(db):
    engine, tables, nobody = db
    store(engine, [failure("charge", group="billing"), failure("load", group="sales")])
    assert dispatch_due(engine, tables, nobody, utcnow()).alerted == 2

    assert delivery.claim(engine, tables, nobody, utcnow()) == []
    rows = alerts(engine, tables)
    assert [(r.state, r.attempts, r.recipients) for r in rows] == [("unroutable", 0, "[]")] * 2
    assert {r.last_error for r in rows} == {
        f"no recipients: set OTELMON_ALERT_RECIPIENTS or a route for airflow/{group} (OTELMON_ALERT_ROUTES)"
        for group in ("billing", "sales")}
    # Not retried: nothing is due, and nothing is counted as waiting for a retry.
    assert delivery.claim(engine, tables, nobody, utcnow()) == []
    assert delivery.next_retry(engine, tables) is None
    assert delivery.reroute(engine, tables, nobody, utcnow()) == (0, 0)  # nothing can route: nothing read

    # Configuration now routes billing only: that one moves, the other keeps waiting.
    billing = nobody.model_copy(update={"alert_routes": [AlertRoute(match="airflow/billing", to=[TEAM])]})
    first, second = (r.id for r in rows)
    assert delivery.reroute(engine, tables, billing, utcnow()) == (1, second)
    assert delivery.reroute(engine, tables, billing, utcnow(), after_id=second) == (0, second)
    (item,) = delivery.claim(engine, tables, billing, utcnow())
    assert item.message.recipients == [TEAM] and item.attempts == 1
    sent([item], engine, tables, billing)
    rows = alerts(engine, tables)
    assert [(r.state, json.loads(r.recipients)) for r in rows] == [("sent", [TEAM]), ("unroutable", [])]


def test_a_storm_summary_is_routed_when_sent_too(database_url):
    engine, tables, nobody = open_db(database_url)
    nobody = nobody.model_copy(update={"alert_storm_cap_per_minute": 1})
    store(engine, [failure(f"step_{n}", group=f"dag_{n}") for n in range(3)])
    dispatch_due(engine, tables, nobody, utcnow())
    assert delivery.claim(engine, tables, nobody, utcnow()) == []
    kinds = {r.kind: r for r in alerts(engine, tables)}
    assert kinds["summary"].state == "unroutable" and "airflow/dag_" in kinds["summary"].last_error
    team = nobody.model_copy(update={"alert_recipients": [TEAM]})
    assert delivery.reroute(engine, tables, team, utcnow())[0] == 2
    claimed = delivery.claim(engine, tables, team, utcnow())
    assert sorted(c.kind for c in claimed) == ["failure", "summary"]
    assert all(c.message.recipients == [TEAM] for c in claimed)
    installation = ensure_installation_id(engine)
    assert {c.message.message_id for c in claimed} == {
        f"<otelmon.alert.{c.alert_id}.{installation}@example.com>" for c in claimed}
    engine.dispose()


def test_resend_keeps_the_message_id_and_cancel_stops_the_send(db):
    engine, tables, settings = db
    settings = settings.model_copy(update={"alert_recipients": [TEAM]})
    store(engine, [failure("charge"), failure("load", group="sales")])
    dispatch_due(engine, tables, settings, utcnow())
    first, second = delivery.claim(engine, tables, settings, utcnow())
    sent([first, second], engine, tables, settings)

    assert admin.resend(engine, tables, first.alert_id).state == "pending"
    (again,) = delivery.claim(engine, tables, settings, utcnow())
    assert again.alert_id == first.alert_id and again.attempts == 1
    assert again.message.message_id == first.message.message_id != second.message.message_id

    with pytest.raises(admin.InvalidTransition, match="being sent right now"):
        admin.cancel(engine, tables, first.alert_id)
    with pytest.raises(admin.InvalidTransition, match="already sent"):
        admin.cancel(engine, tables, second.alert_id)
    with pytest.raises(admin.AlertNotFound, match="alert 999 does not exist"):
        admin.resend(engine, tables, 999)
    admin.resend(engine, tables, second.alert_id)
    with pytest.raises(admin.InvalidTransition, match="already waiting"):
        admin.resend(engine, tables, second.alert_id)
    assert admin.cancel(engine, tables, second.alert_id).state == "cancelled"
    assert delivery.claim(engine, tables, settings, utcnow()) == []  # a cancelled alert is never sent

    # A sender that died mid-send leaves its alert "sending" until the lease runs out: then it can be cancelled.
    a = tables.alerts
    with engine.begin() as conn:
        conn.execute(a.update().where(a.c.id == first.alert_id).values(lease_until=utcnow() - timedelta(seconds=1)))
    assert admin.cancel(engine, tables, first.alert_id).state == "cancelled"
    assert delivery.reroute(engine, tables, settings, utcnow())[0] == 0


def alert_one_message_id(url: str) -> str:
    engine, tables, settings = open_db(url, alert_recipients=[TEAM])
    store(engine, [failure("charge")])
    dispatch_due(engine, tables, settings, utcnow())
    (item,) = delivery.claim(engine, tables, settings, utcnow())
    engine.dispose()
    assert item.alert_id == 1
    return item.message.message_id


def test_two_fresh_databases_give_alert_one_different_message_ids(database_url, tmp_path: Path):
    ours = alert_one_message_id(database_url)
    other = alert_one_message_id(f"sqlite:///{tmp_path / 'other.db'}")
    assert ours != other
    for message_id in (ours, other):
        assert re.fullmatch(r"<otelmon\.alert\.1\.[0-9a-f]{16}@example\.com>", message_id)


def test_the_installation_id_is_created_once_when_first_starters_race(database_url):
    engines = [create_db_engine(Settings(database_url=database_url)) for _ in range(6)]
    migrate(engines[0])
    start = threading.Barrier(len(engines))
    ids: list[str] = []

    def first_start(engine) -> None:
        start.wait(10)
        ids.append(ensure_installation_id(engine))

    threads = [threading.Thread(target=first_start, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(ids) == len(engines) and len(set(ids)) == 1
    with engines[0].connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM installation").scalar_one() == 1
    assert ensure_installation_id(engines[0]) == ids[0]  # and kept
    for engine in engines:
        engine.dispose()


def test_the_digest_message_id_carries_the_installation_id(db):
    from otelmon.digest.claim import claim_digest
    from otelmon.digest.options import DigestOptions
    from otelmon.digest.run import lease_for

    engine, tables, settings = db
    installation = ensure_installation_id(engine)
    store(engine, [failure("charge")])
    options = DigestOptions(recipients=[TEAM], window=timedelta(hours=24), row_limit=50)
    claim = claim_digest(engine, tables, settings, options, owner="test", now=utcnow(), lease=lease_for(settings))
    assert claim.composed.email.message_id == f"<otelmon.digest.{claim.digest_id}.{installation}@example.com>"


def test_a_cancel_between_the_senders_read_and_its_claim_is_never_undone(db):
    # The sender reads due alerts, then marks them sending. A cancel committed in between must either be
    # seen by the claim (the alert is not taken) or be refused (it is being sent): never answered
    # "cancelled" and then sent anyway. On SQLite only the claim's BEGIN IMMEDIATE guarantees this.
    engine, tables, settings = db
    settings = settings.model_copy(update={"alert_recipients": [TEAM]})
    store(engine, [failure("charge")])
    dispatch_due(engine, tables, settings, utcnow())
    (alert,) = alerts(engine, tables)
    read_done, cancel_tried = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def pause_after_the_claims_read(conn, cursor, statement, *_):
        if statement.lstrip().upper().startswith("SELECT") and "FROM alerts" in statement and not read_done.is_set():
            read_done.set()
            cancel_tried.wait(timeout=3)  # the cancel, if it does not block on a lock, has been answered

    def cancel() -> None:
        read_done.wait(timeout=10)
        try:
            outcome["answer"] = admin.cancel(canceller, tables, alert.id).state
        except admin.InvalidTransition as refused:
            outcome["answer"] = str(refused)
        finally:
            cancel_tried.set()

    canceller = create_db_engine(settings.model_copy(update={"db_read_timeout_seconds": 10.0}))
    event.listen(engine, "after_cursor_execute", pause_after_the_claims_read)
    try:
        thread = threading.Thread(target=cancel)
        thread.start()
        claimed = delivery.claim(engine, tables, settings, utcnow())
        thread.join(timeout=30)
    finally:
        event.remove(engine, "after_cursor_execute", pause_after_the_claims_read)
        canceller.dispose()
    (row,) = alerts(engine, tables)
    if outcome["answer"] == "cancelled":
        assert claimed == [] and row.state == "cancelled"
    else:
        assert "being sent right now" in str(outcome["answer"])
        assert [c.alert_id for c in claimed] == [alert.id] and row.state == "sending"
