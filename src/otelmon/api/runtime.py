"""What the routes share for the life of the app: settings, database, ingest pipeline, metrics."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from otelmon.alerting.outbox import enqueue_created
from otelmon.alerting.routing import Router
from otelmon.config import Settings
from otelmon.ingest import FailureIngestor
from otelmon.metrics import Metrics
from otelmon.otlp.budget import ByteBudget
from otelmon.silences.store import end_acks_of_changed_issues
from otelmon.storage.database import create_db_engine
from otelmon.storage.migrate import migrate
from otelmon.storage.tables import Tables

log = logging.getLogger(__name__)

# At start the database may still be coming up (compose starts services together).
_STARTUP_DEADLINE_SECONDS = 90
_STARTUP_MAX_BACKOFF_SECONDS = 5
# Largest legal bodies held in memory at once (and one of them parsed): with the 32 MiB default, measured
# peak RSS stays under 400 MiB, within the container's 512 MiB (README, Performance).
_BODIES_HELD = 3


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    tables: Tables
    ingestor: FailureIngestor
    metrics: Metrics
    # Bytes of request bodies held, and being parsed, at once (otlp/budget.py).
    body_budget: ByteBudget
    parse_budget: ByteBudget
    # Where alerts go (OTELMON_NOTIFY_CONFIG, or the legacy recipients): read and checked once, at start.
    router: Router

    @classmethod
    def start(cls, settings: Settings) -> Runtime:
        router = Router.from_settings(settings)  # a bad receivers file stops start-up, before the database
        engine = create_db_engine(settings)
        _migrate_with_retries(engine)
        tables = Tables.reflect(engine)
        metrics = Metrics()
        metrics.database_up.set(1)
        read_created = enqueue_created(tables, settings.alert_group_wait_seconds) if settings.alerts_enabled else None
        ingestor = FailureIngestor(engine, tables, read_created, on_issue_changes=end_acks_of_changed_issues(tables))
        return cls(settings, engine, tables, ingestor, metrics,
                   ByteBudget(_BODIES_HELD * settings.max_body_bytes, "request bodies in memory"),
                   ByteBudget(settings.max_body_bytes, "bodies being parsed", trim_after=True), router)

    def close(self) -> None:
        self.engine.dispose()


def _migrate_with_retries(engine: Engine) -> None:
    deadline = time.monotonic() + _STARTUP_DEADLINE_SECONDS
    delay = 0.5
    while True:
        try:
            applied = migrate(engine)
            if applied:
                log.info("schema migrations applied: %s", ", ".join(applied))
            return
        except SQLAlchemyError as exc:
            if time.monotonic() + delay > deadline:
                raise RuntimeError(f"database not reachable within {_STARTUP_DEADLINE_SECONDS}s: {exc}") from exc
            log.warning("database not ready (%s); retrying in %.1fs", exc.__class__.__name__, delay)
            time.sleep(delay)
            delay = min(delay * 2, _STARTUP_MAX_BACKOFF_SECONDS)
