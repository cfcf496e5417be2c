"""Failures stored the way the API stores them (the ingest path, with its alert outbox rows)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import Engine, select, text

from otelmon.alerting.outbox import enqueue_created
from otelmon.clock import utcnow
from otelmon.failures.model import Failure
from otelmon.ingest import FailureIngestor
from otelmon.runs.model import Run
from otelmon.storage.tables import Tables


def failure(process: str, *, ended_ago: timedelta = timedelta(hours=1), group: str = "billing_daily",
            platform: str = "airflow", error_type: str = "ValueError", message: str = "bad row",
            duration: timedelta = timedelta(seconds=42)) -> Failure:
    end = utcnow() - ended_ago
    return Failure(
        platform=platform, group=group, process=process, span_name=process, start_time=end - duration,
        end_time=end, run_id=f"scheduled__{uuid.uuid4().hex[:8]}", try_number=1, trace_id=uuid.uuid4().hex,
        span_id=uuid.uuid4().hex[:16], error_type=error_type, error_message=message,
    )


def store(engine: Engine, failures: list[Failure], runs: list[Run] = ()) -> list[int]:
    """Stores ``failures`` (and ``runs``); the failures' ids, in order."""
    tables = Tables.reflect(engine)
    ingestor = FailureIngestor(engine, tables, enqueue_created(tables, 0.0))
    ingestor.store(failures, runs)
    f = tables.failures
    with engine.connect() as conn:
        ids = dict(conn.execute(select(f.c.identity_key, f.c.id)).all())
    return [ids[x.identity_key] for x in failures]


def digest_of(engine: Engine) -> dict[str, int | None]:
    """process name -> digest id, for every stored failure."""
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT process_name, digest_id FROM failures")).all())


def digests(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT id, state, failure_count, attempts, message_id, last_error FROM digests ORDER BY id"
        ))
        return [dict(r._mapping) for r in rows]
