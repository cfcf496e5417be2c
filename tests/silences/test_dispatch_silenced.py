"""Dispatch and silences in one process, on both databases: a group whose head an active silence matches is
marked silenced (not alerted, its repeat interval untouched); acknowledgements end with their issue."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from otelmon.alerting.dispatch import dispatch_due
from otelmon.clock import utcnow
from otelmon.digest.content import DigestContent
from otelmon.digest.select import select_new_failures
from otelmon.silences import store as silences
from otelmon.silences.store import silenced_failure_ids
from tests.alerting.conftest import open_db
from tests.digest.seed import failure, store


@pytest.fixture
def db(database_url):
    engine, tables, settings = open_db(database_url, alert_recipients=["team@example.com"])
    yield engine, tables, settings
    engine.dispose()


def add(engine, tables, starts_in=timedelta(0), lasts=timedelta(hours=1), **matchers):
    now = utcnow()
    with engine.begin() as conn:
        return silences.create(conn, tables, matchers=matchers, starts_at=now + starts_in,
                               ends_at=now + starts_in + lasts, comment="test", created_by="tester", now=now).id


def outbox(engine, tables):
    ob, f = tables.alert_outbox, tables.failures
    with engine.connect() as conn:
        rows = conn.execute(select(f.c.process_name, ob.c.state, ob.c.silence_id).join(ob, ob.c.failure_id == f.c.id))
        return {r.process_name: (r.state, r.silence_id) for r in rows}


def test_a_silenced_group_is_marked_not_alerted_and_leaves_the_repeat_interval_alone(db):
    engine, tables, settings = db
    billing = add(engine, tables, platform="airflow", group="billing_*")
    by_error = add(engine, tables, error_type="Key*")
    add(engine, tables, starts_in=timedelta(hours=1), group="sales")  # not yet in effect
    store(engine, [failure("load"), failure("extract", group="sales"),
                   failure("check", group="ops", error_type="KeyError"),
                   failure("sync", group="billing_daily", platform="nifi")])
    stats = dispatch_due(engine, tables, settings, utcnow())
    assert outbox(engine, tables) == {"load": ("silenced", billing), "check": ("silenced", by_error),
                                      "extract": ("alerted", None), "sync": ("alerted", None)}
    assert stats.alerted == 2 and stats.suppressed == 0
    fp = tables.alert_fingerprints
    with engine.connect() as conn:
        assert len(conn.execute(select(fp)).all()) == 2  # the silenced fingerprints were never "alerted"
        rows = select_new_failures(conn, utcnow() - timedelta(days=1))
    # The digest lists silenced failures like any other, labelled.
    context = DigestContent(rows, settings, digest_id=1, window_start=utcnow() - timedelta(days=1),
                            window_end=utcnow(), window=timedelta(days=1)).context(50)
    labels = {r["process"]: r["alert_label"] for s in context["sections"] for r in s["rows"]}
    assert labels == {"load": "silenced", "check": "silenced", "extract": "", "sync": ""}


def test_after_a_silence_is_expired_the_same_fingerprint_is_alerted_at_once(db):
    engine, tables, settings = db
    silence_id = add(engine, tables, group="billing_daily", process="load")
    store(engine, [failure("load")])
    dispatch_due(engine, tables, settings, utcnow())
    with engine.begin() as conn:
        silences.expire(conn, tables, silence_id, utcnow())
    store(engine, [failure("load", ended_ago=timedelta(minutes=1))])
    stats = dispatch_due(engine, tables, settings, utcnow())
    assert stats.alerted == 1  # not "suppressed as a repeat": the silenced one did not count


def test_lone_heads_of_a_storm_get_the_labels_a_silence_looks_at(db):
    engine, tables, _ = db
    ids = store(engine, [failure(f"p{n}", group="billing_daily" if n % 2 else "sales") for n in range(6)])
    with engine.connect() as conn:
        fingerprints = dict(conn.execute(select(tables.failures.c.id, tables.failures.c.fingerprint)).all())

    class Lone:  # what dispatch holds for a storm's one-failure groups: the outbox row only
        def __init__(self, id_):
            self.id, self.fingerprint = id_, fingerprints[id_]

    now = utcnow()
    with engine.connect() as conn:
        assert silenced_failure_ids(conn, tables, [Lone(i) for i in ids], now) == {}
    group_silence = add(engine, tables, group="billing_*")
    fp_silence = add(engine, tables, fingerprint=fingerprints[ids[0]])
    with engine.connect() as conn:
        found = silenced_failure_ids(conn, tables, [Lone(i) for i in ids], utcnow())
    assert found == {ids[0]: fp_silence, ids[1]: group_silence, ids[3]: group_silence, ids[5]: group_silence}


def test_an_acknowledgement_lasts_until_its_issue_changes_and_only_acks_end(db):
    engine, tables, settings = db
    store(engine, [failure("load")])
    with engine.connect() as conn:
        fingerprint = conn.execute(select(tables.failures.c.fingerprint)).scalar_one()
    other = add(engine, tables, fingerprint=fingerprint, lasts=timedelta(days=1))
    now = utcnow()
    with engine.begin() as conn:
        ack, created = silences.acknowledge(conn, tables, fingerprint, comment="on it", created_by="bob", now=now)
        again, created_again = silences.acknowledge(conn, tables, fingerprint, comment="me too", created_by="eve",
                                                    now=now)
    assert created and not created_again and again.id == ack.id
    assert ack.kind == "ack" and ack.ends_at is None and ack.matchers == {"fingerprint": fingerprint}
    with engine.begin() as conn:
        assert silences.end_acks(conn, tables, fingerprint, utcnow()) == 1
        assert silences.end_acks(conn, tables, fingerprint, utcnow()) == 0
        assert silences.get(conn, tables, ack.id).status(utcnow()) == "expired"
        assert silences.get(conn, tables, other).status(utcnow()) == "active"
