"""Two API replicas (two engines, two ingestors) storing failures of the same new fingerprints at once: every
failure stored, one issue per fingerprint, every occurrence counted."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from otelmon.config import Settings
from otelmon.ingest import FailureIngestor
from otelmon.storage.database import create_db_engine
from otelmon.storage.migrate import migrate
from otelmon.storage.tables import Tables
from tests.digest.seed import failure

ROUNDS = 15


def test_replicas_tracking_the_same_new_fingerprints_at_once_lose_nothing(database_url: str):
    settings = Settings(database_url=database_url)
    engines = [create_db_engine(settings) for _ in range(2)]
    try:
        migrate(engines[0])
        ingestors = [FailureIngestor(engine, Tables.reflect(engine)) for engine in engines]

        def replica(number: int) -> int:
            rejected = 0
            for round_ in range(ROUNDS):
                # Both replicas see the same three fingerprints in each round, in opposite orders.
                batch = [dataclasses.replace(failure(process), run_id=f"r{number}-{round_}")
                         for process in ("a", "b", "c")]
                result = ingestors[number].store(batch[::-1] if number else batch)
                rejected += result.rejected
            return rejected

        with ThreadPoolExecutor(2) as pool:
            assert list(pool.map(replica, range(2))) == [0, 0]
        issues = Tables.reflect(engines[0]).issues
        with engines[0].connect() as conn:
            rows = conn.execute(select(issues.c.process_name, issues.c.occurrences, issues.c.state)).all()
        assert sorted(tuple(row) for row in rows) == [(p, 2 * ROUNDS, "ongoing") for p in ("a", "b", "c")]
    finally:
        for engine in engines:
            engine.dispose()
