"""The overview's counts, each from the package's own query, on SQLite and MariaDB: open issues by state,
failures of the last 24 h, alerts by state, silences and acknowledgements in effect."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from otelmon.clock import utcnow
from otelmon.config import Settings
from otelmon.console.overview import read_overview
from otelmon.silences import store as silences
from otelmon.silences.model import ACK
from otelmon.storage.database import create_db_engine
from otelmon.storage.migrate import migrate
from otelmon.storage.tables import Tables
from tests.digest.seed import failure, store


@pytest.fixture
def db(database_url):
    engine = create_db_engine(Settings(database_url=database_url))
    migrate(engine)
    yield engine, Tables.reflect(engine)
    engine.dispose()


def alert(conn, tables, state: str, n: int) -> None:
    now = utcnow()
    conn.execute(tables.alerts.insert().values(
        kind="failure", group_key=f"{n:032d}", fingerprint=f"{n:016d}", head_failure_id=n, failure_count=1,
        suppressed_count=0, recipients="[]", state=state, attempts=0, next_attempt_at=now, created_at=now))


def test_the_overview_counts_what_each_page_lists(db):
    engine, tables = db
    store(engine, [failure(name) for name in ("new_one", "new_two", "ongoing", "regressed", "resolved")]
          + [failure("yesterday", ended_ago=timedelta(hours=25))])
    now = utcnow()
    i = tables.issues
    with engine.begin() as conn:
        for name in ("ongoing", "regressed", "resolved"):
            conn.execute(update(i).where(i.c.process_name == name).values(state=name))
        for n, state in enumerate(["failed", "unroutable", "unroutable", "sent", "sent", "sent"], start=1):
            alert(conn, tables, state, n)
        kept = dict(comment="maintenance", created_by="ops", now=now)
        silences.create(conn, tables, matchers={"group": "billing_*"}, starts_at=now - timedelta(minutes=5),
                        ends_at=now + timedelta(hours=1), **kept)
        silences.create(conn, tables, matchers={"group": "later"}, starts_at=now + timedelta(hours=1),
                        ends_at=now + timedelta(hours=2), **kept)  # pending: not in effect yet
        ended = silences.create(conn, tables, matchers={"group": "done"}, starts_at=now - timedelta(hours=1),
                                ends_at=now + timedelta(hours=1), **kept)
        silences.expire(conn, tables, ended.id, now)
        silences.create(conn, tables, matchers={"fingerprint": "f" * 16}, starts_at=now, ends_at=None,
                        kind=ACK, **kept)

    overview = read_overview(engine, tables, now + timedelta(seconds=1))
    assert overview.open_issues == {"new": 3, "ongoing": 1, "regressed": 1}  # "yesterday" is new too
    assert overview.open_total == 5
    assert overview.recent_failures == 5
    assert overview.alerts == {"pending": 0, "sending": 0, "sent": 3, "failed": 1, "unroutable": 2, "cancelled": 0}
    assert overview.needs_attention == 3
    assert (overview.silences, overview.acknowledged) == (1, 1)


def test_an_empty_database_counts_zero_everywhere(db):
    engine, tables = db
    overview = read_overview(engine, tables, utcnow())
    assert overview.open_issues == {"new": 0, "ongoing": 0, "regressed": 0} and overview.recent_failures == 0
    assert set(overview.alerts.values()) == {0} and (overview.silences, overview.acknowledged) == (0, 0)
