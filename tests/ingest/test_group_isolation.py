"""Group commit answers each request for its own content (issue 12, docs/design.md "OTLP/HTTP receiver")."""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import httpx
import pymysql
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from otelmon.alerting.outbox import enqueue_created
from otelmon.config import Settings
from otelmon.failures.model import Failure
from otelmon.ingest import FailureIngestor, _tied_to_content
from otelmon.storage.database import create_db_engine
from otelmon.storage.errors import mysql_error_code
from otelmon.storage.migrate import migrate
from otelmon.storage.tables import Tables
from tests.ingest.otlp_bodies import START_NANOS, error_span, protobuf, request_of

BAD_VALUES = [
    {"otelmon.try_number": "100000000000000000000"},
    {"otelmon.try_number": math.inf},
    {"otelmon.try_number": 2**40},
    {"etl.start_time": "0001-01-01T00:00:00+01:00"},
    {"etl.start_time": math.nan},
]


def _failure(n: int, platform: str | None = "airflow") -> Failure:
    moment = datetime(2026, 11, 22, 10, 0, n % 60)
    return Failure(platform=platform, group="dag", process=f"task_{n}", span_name="t", start_time=moment,
                   end_time=moment, run_id=f"run-{n}", try_number=1)


@pytest.fixture
def storage(database_url):
    engine = create_db_engine(Settings(database_url=database_url))
    migrate(engine)
    yield engine, Tables.reflect(engine)
    engine.dispose()


def test_a_batch_the_database_refuses_fails_only_itself_in_a_shared_transaction(storage):
    engine, tables = storage
    outbox_reader = enqueue_created(tables, 0)
    held = threading.Event()
    release = threading.Event()

    def read_created(conn, ingest_ids):
        # The first transaction waits until every other batch is queued: they then share the next one.
        if not held.is_set():
            held.set()
            assert release.wait(30)
        return outbox_reader(conn, ingest_ids)

    ingestor = FailureIngestor(engine, tables, read_created)
    # NOT NULL platform: a value no fitting can rescue stands for "the database refuses this content".
    batches = [[_failure(0)]] + [
        [_failure(n, platform=None if n % 4 == 0 else "airflow"), _failure(1000 + n)] for n in range(1, 21)
    ]
    with ThreadPoolExecutor(len(batches)) as pool:
        first = pool.submit(ingestor.store, batches[0])
        assert held.wait(30)
        rest = [pool.submit(ingestor.store, batch) for batch in batches[1:]]
        deadline = time.monotonic() + 30
        while len(ingestor._waiting) < len(rest):  # all queued behind the held transaction
            assert time.monotonic() < deadline, "batches never queued"
            time.sleep(0.01)
        release.set()
        results = [first.result(30)] + [future.result(30) for future in rest]

    for n, (batch, result) in enumerate(zip(batches, results, strict=True)):
        refused = sum(f.platform is None for f in batch)
        assert (result.rejected, len(result.created_ids)) == (refused, len(batch) - refused), n
        if refused:
            assert "refused" in result.reasons[0]
    with engine.connect() as conn:
        stored = conn.scalar(select(func.count()).select_from(tables.failures))
        enqueued = conn.scalar(select(func.count()).select_from(tables.alert_outbox))
    expected = sum(len(r.created_ids) for r in results)
    assert stored == enqueued == expected == 1 + 2 * 20 - 5


def test_valid_and_bad_batches_sent_side_by_side_are_all_answered_200(start_api, database_url):
    """The issue's scenario against ``otelmon serve``: before, valid batches sharing a transaction with a
    bad one were answered 500 (SQLite) or 503 (MariaDB)."""
    api = start_api({"OTELMON_DATABASE_URL": database_url, "OTELMON_ALERTS_ENABLED": "false"})
    pipeline = {"otelmon.platform": "airflow", "otelmon.group": "dag", "otelmon.process": "load"}

    def body(n: int) -> bytes:
        bad = BAD_VALUES[n % len(BAD_VALUES)] if n % 2 else {}
        start = 0 if "etl.start_time" in bad else START_NANOS
        span = error_span({**pipeline, "otelmon.run_id": f"run-{n}", **bad}, start=start,
                          end=START_NANOS if start == 0 else None)
        return protobuf(request_of(span))

    bodies = [body(n) for n in range(240)]
    with httpx.Client(base_url=api.url, timeout=30) as client, ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(
            lambda b: client.post("/v1/traces", content=b, headers={"content-type": "application/x-protobuf"}),
            bodies,
        ))
        assert [a.status_code for a in answers] == [200] * len(bodies), {a.status_code for a in answers}
        runs = set()
        cursor = None
        while True:
            page = client.get("/api/v1/failures", params={"limit": 500, **({"cursor": cursor} if cursor else {})})
            assert page.status_code == 200
            runs |= {item["run_id"] for item in page.json()["items"]}
            cursor = page.json().get("next_cursor")
            if not cursor:
                break
        metrics = client.get("/metrics").text
    # Every valid batch stored; the bad ones too, fitted (the NaN start time falls back to the span's end).
    assert runs == {f"run-{n}" for n in range(240)}
    assert "otelmon_database_up 1.0" in metrics


@pytest.mark.parametrize(
    ("error", "content"),
    [
        (DataError("INSERT", {}, pymysql.err.DataError(1264, "Out of range value for column 'try_number'")), True),
        (IntegrityError("INSERT", {}, pymysql.err.IntegrityError(1048, "Column 'platform' cannot be null")), True),
        (OperationalError("INSERT", {}, pymysql.err.OperationalError(1292, "Incorrect datetime value")), True),
        (OperationalError("INSERT", {}, pymysql.err.OperationalError(2013, "Lost connection")), False),
        (OperationalError("INSERT", {}, pymysql.err.OperationalError(1213, "Deadlock found")), False),
        (OperationalError("INSERT", {}, pymysql.err.OperationalError(1021, "Disk full")), False),
        (OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked")), False),
        (IntegrityError("INSERT", {}, sqlite3.IntegrityError("NOT NULL constraint failed")), True),
    ],
)
def test_refusals_for_content_are_told_from_an_absent_database(error, content):
    """Content errors are retried apart and end in partial_success; the rest are 503 for every batch."""
    assert _tied_to_content(error, mysql_error_code(error)) is content
