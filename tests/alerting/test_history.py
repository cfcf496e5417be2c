"""GET /api/v1/alerts reads alerts and outbox counts from one snapshot, on both databases."""

from datetime import datetime

import pytest
from sqlalchemy import event, update

from otelmon.alerting.history import read_history
from otelmon.config import Settings
from otelmon.storage.database import create_db_engine
from otelmon.storage.migrate import migrate
from otelmon.storage.tables import Tables


@pytest.fixture
def engine(database_url):
    eng = create_db_engine(Settings(database_url=database_url))
    migrate(eng)
    yield eng
    eng.dispose()


def test_a_dispatch_committed_between_the_reads_is_seen_whole_or_not_at_all(engine):
    tables = Tables.reflect(engine)
    ob, a = tables.alert_outbox, tables.alerts
    now = datetime(2026, 11, 22, 12)
    with engine.begin() as conn:
        conn.execute(ob.insert().values(failure_id=1, group_key="g" * 32, fingerprint="f" * 16, created_at=now,
                                        due_at=now, state="new"))

    def dispatch() -> None:
        # What a dispatch pass commits in one transaction: the outbox row alerted, its alert pending.
        with engine.begin() as conn:
            alert_id = conn.execute(a.insert().values(
                kind="failure", group_key="g" * 32, fingerprint="f" * 16, head_failure_id=1, failure_count=1,
                suppressed_count=0, recipients="[]", state="pending", attempts=0, next_attempt_at=now,
                created_at=now)).inserted_primary_key[0]
            conn.execute(update(ob).where(ob.c.failure_id == 1).values(state="alerted", alert_id=alert_id))

    reads = []

    @event.listens_for(engine, "after_cursor_execute")
    def between_the_reads(conn, cursor, statement, *args) -> None:
        if "FROM alert_outbox" in statement and "GROUP BY" in statement and not reads:
            reads.append(statement)
            dispatch()  # from another connection, after the first read of the history

    history = read_history(engine, tables, None, 50, None)
    assert reads, "the dispatch ran between the reads"
    assert history.outbox_by_state == {"new": 1}
    assert history.alerts_by_state == {} and history.rows == []
    # A later read sees the dispatch whole.
    after = read_history(engine, tables, None, 50, None)
    assert after.outbox_by_state == {"alerted": 1} and after.alerts_by_state == {"pending": 1}
