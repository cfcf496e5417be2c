"""Retention: failures and runs older than OTELMON_RETENTION_DAYS are pruned, in bounded batches, by the API."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta

import httpx
from sqlalchemy import create_engine, func, select, update

from otelmon.alerting.outbox import enqueue_created
from otelmon.clock import utcnow
from otelmon.config import Settings
from otelmon.ingest import FailureIngestor
from otelmon.runs.model import Run
from otelmon.storage.database import create_db_engine
from otelmon.storage.migrate import migrate
from otelmon.storage.retention import prune
from otelmon.storage.tables import Tables
from tests.collector.runs import send
from tests.digest.seed import failure
from tests.harness.api_server import ApiServer
from tests.harness.spans import SpanFactory
from tests.harness.waiting import wait_until


def run_of(process: str, ended_ago: timedelta) -> Run:
    end = utcnow() - ended_ago
    return Run(platform="airflow", group="nightly", process=process, start_time=end - timedelta(seconds=5),
               end_time=end, outcome="success", run_id=process, try_number=1)


def test_prune_deletes_what_ended_before_the_retention_in_batches(database_url: str):
    engine = create_db_engine(Settings(database_url=database_url))
    try:
        migrate(engine)
        tables = Tables.reflect(engine)
        old = [failure(f"old_{n}", ended_ago=timedelta(days=40)) for n in range(5)]
        pending = failure("old_pending", ended_ago=timedelta(days=40))
        recent = failure("recent", ended_ago=timedelta(days=2))
        runs = [run_of(f"old_run_{n}", timedelta(days=31)) for n in range(3)] + [run_of("new_run", timedelta(days=1))]
        FailureIngestor(engine, tables, enqueue_created(tables, 0.0)).store([*old, pending, recent], runs)
        ob, f = tables.alert_outbox, tables.failures
        with engine.begin() as conn:  # every alert settled but one, whose failure must wait for it
            conn.execute(update(ob).values(state="alerted"))
            pending_id = conn.execute(select(f.c.id).where(f.c.process_name == "old_pending")).scalar_one()
            conn.execute(update(ob).where(ob.c.failure_id == pending_id).values(state="new"))

        pruned = prune(engine, tables, timedelta(days=30), batch_rows=2)

        assert dataclasses.astuple(pruned) == (5, 3, True)
        with engine.connect() as conn:
            assert sorted(conn.execute(select(f.c.process_name)).scalars()) == ["old_pending", "recent"]
            assert list(conn.execute(select(tables.runs.c.process_name)).scalars()) == ["new_run"]
            assert conn.execute(select(func.count()).select_from(ob)).scalar() == 2
        assert dataclasses.astuple(prune(engine, tables, timedelta(days=30))) == (0, 0, True)
        # Out of time: the pass stops and says so; the next one goes on.
        assert prune(engine, tables, timedelta(days=0), budget_seconds=0).complete is False
    finally:
        engine.dispose()


def test_the_api_prunes_in_the_background(start_api: Callable[..., ApiServer], database_url: str):
    api = start_api({"OTELMON_DATABASE_URL": database_url, "OTELMON_ALERTS_ENABLED": "false",
                     "OTELMON_RETENTION_DAYS": "30", "OTELMON_RETENTION_INTERVAL_SECONDS": "0.2"})
    factory = SpanFactory("airflow", resource={"otelmon.platform": "airflow", "otelmon.group": "nightly"})
    factory.failing("load", {"otelmon.process": "load", "otelmon.run_id": "r-recent"})
    recent = factory.take()
    factory.failing("load", {"otelmon.process": "load", "otelmon.run_id": "r-old"})
    old = factory.take()
    forty_days = int(timedelta(days=40).total_seconds() * 1e9)
    for span in old:  # a span that ended 40 days ago (a queue drained at last)
        span._start_time -= forty_days
        span._end_time -= forty_days
    send(f"{api.url}/v1/traces", recent + old)

    def run_ids():
        items = httpx.get(f"{api.url}/api/v1/failures", timeout=10).json()["items"]
        return sorted(item["run_id"] for item in items)

    wait_until(lambda: run_ids() == ["r-recent"], timeout=30, what="the 40-day-old failure pruned")
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            assert list(conn.execute(select(Tables.reflect(engine).runs.c.run_id)).scalars()) == ["r-recent"]
    finally:
        engine.dispose()
