from datetime import datetime

import pytest
from sqlalchemy import create_engine, inspect, text

from otelmon.alerting.outbox import enqueue_created
from otelmon.config import Settings
from otelmon.failures.model import Failure
from otelmon.ingest import FailureIngestor
from otelmon.storage.database import create_db_engine
from otelmon.storage.migrate import migrate
from otelmon.storage.sqlfiles import migration_files
from otelmon.storage.tables import Tables


@pytest.fixture
def engine(database_url):
    eng = create_db_engine(Settings(database_url=database_url))
    yield eng
    eng.dispose()


def test_migrations_apply_once_and_are_recorded(engine):
    versions = [p.stem for p in migration_files()]
    assert migrate(engine) == versions
    assert migrate(engine) == []
    with engine.connect() as conn:
        recorded = [r[0] for r in conn.execute(text("SELECT version FROM schema_migrations ORDER BY version"))]
    assert recorded == versions
    indexes = {ix["name"] for ix in inspect(engine).get_indexes("failures")}
    assert {"ix_failures_unreported", "ix_failures_pipeline", "ix_failures_end_time"} <= indexes
    # 004 replaced the outbox's (group_key, state) index by one on group_key alone.
    outbox = {ix["name"]: ix["column_names"] for ix in inspect(engine).get_indexes("alert_outbox")}
    assert outbox.get("ix_alert_outbox_group_key") == ["group_key"] and "ix_alert_outbox_group" not in outbox
    assert "ingest_id" in {c["name"] for c in inspect(engine).get_columns("alert_outbox")}


def test_files_rerun_without_ledger_are_harmless(engine):
    # MariaDB's docker-entrypoint-initdb.d runs the same files before the API's first start.
    migrate(engine)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM schema_migrations"))
    assert migrate(engine) == [p.stem for p in migration_files()]


def _failure(run_id: str, start: datetime, end: datetime, message: str = "boom") -> Failure:
    return Failure(platform="airflow", group="g", process="p", span_name="p", start_time=start, end_time=end,
                   run_id=run_id, try_number=1, trace_id="ab" * 16, span_id="cd" * 8, error_message=message)


def test_store_is_idempotent_and_keeps_microseconds_and_widest_time_range(engine):
    migrate(engine)
    ingestor = FailureIngestor(engine, Tables.reflect(engine))
    inner = _failure("r1", datetime(2026, 1, 1, 10, 0, 1, 250001), datetime(2026, 1, 1, 10, 0, 2))
    outer = _failure("r1", datetime(2026, 1, 1, 10, 0, 0, 1), datetime(2026, 1, 1, 10, 0, 3, 999999))
    first = ingestor.store([inner, _failure("r2", inner.start_time, inner.end_time)])
    assert len(first.created_ids) == 2
    again = ingestor.store([outer])
    assert again.created_ids == [] and again.duplicates == 1
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT start_time, end_time FROM failures WHERE run_id = 'r1'")).all()
    assert len(rows) == 1
    start, end = rows[0]
    def as_dt(v):
        return (v if isinstance(v, datetime) else datetime.fromisoformat(v))
    assert as_dt(start) == outer.start_time and as_dt(end) == outer.end_time


def test_oversized_values_are_clipped_to_the_column(engine):
    migrate(engine)
    ingestor = FailureIngestor(engine, Tables.reflect(engine))
    f = _failure("r9", datetime(2026, 1, 1), datetime(2026, 1, 1), message="m" * 200_000)
    f.error_type = "T" * 1000
    f.stacktrace = "s" * 3_000_000
    ingestor.store([f])
    with engine.connect() as conn:
        etype, msg, stack = conn.execute(text("SELECT error_type, error_message, stacktrace FROM failures")).one()
    assert len(etype) == 255 and etype.endswith("…")
    assert len(msg) == 64 * 1024
    assert len(stack) == 1024 * 1024


def test_sqlite_file_default_needs_no_configuration(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OTELMON_DATABASE_URL", raising=False)
    eng = create_engine(Settings().database_url)
    try:
        migrate(eng)
    finally:
        eng.dispose()
    assert (tmp_path / "otelmon.db").exists()


@pytest.mark.parametrize("alerting", [False, True], ids=["plain", "with-outbox"])
def test_concurrent_stores_share_transactions_and_each_caller_gets_its_own_result(engine, alerting):
    from concurrent.futures import ThreadPoolExecutor

    migrate(engine)
    tables = Tables.reflect(engine)
    # With alerting, the read-back of created rows is the outbox's INSERT ... SELECT ... RETURNING.
    ingestor = FailureIngestor(engine, tables, enqueue_created(tables, 0.0) if alerting else None)
    start = datetime(2026, 1, 1, 10)
    # 40 callers at once; every second one repeats the failure of the one before (a redelivery).
    batches = [[_failure(f"run-{n // 2}", start, start), _failure(f"own-{n}", start, start)] for n in range(40)]
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(ingestor.store, batches))
    assert sum(len(r.created_ids) for r in results) == 20 + 40
    assert sum(r.duplicates for r in results) == 20
    assert all(len(r.created_ids) + r.duplicates == 2 for r in results)
    all_ids = [i for r in results for i in r.created_ids]
    assert len(set(all_ids)) == len(all_ids)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM failures")).scalar_one() == 60
        outbox = conn.execute(text("SELECT failure_id FROM alert_outbox")).scalars().all()
    # One alert intent per created failure, none for a redelivery.
    assert sorted(outbox) == (sorted(all_ids) if alerting else [])
