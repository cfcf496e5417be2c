"""``tries_of_run``: every try of one run of one step, whatever its outcome, each with its failure (both
databases)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from otelmon.config import Settings
from otelmon.runs.model import Run
from otelmon.storage.database import create_db_engine
from otelmon.storage.migrate import migrate
from otelmon.storage.runs_repo import tries_of_run
from otelmon.storage.tables import Tables
from tests.digest.seed import failure, store


def run_of(broken, outcome: str) -> Run:
    return Run(platform=broken.platform, group=broken.group, process=broken.process, start_time=broken.start_time,
               end_time=broken.end_time, outcome=outcome, run_id=broken.run_id, try_number=broken.try_number,
               trace_id=broken.trace_id, span_id=broken.span_id, fingerprint=broken.fingerprint)


def test_the_tries_of_a_run_are_listed_first_try_first_with_their_failures(database_url: str):
    engine = create_db_engine(Settings(database_url=database_url))
    try:
        migrate(engine)
        tables = Tables.reflect(engine)
        first = dataclasses.replace(failure("load", ended_ago=timedelta(minutes=30)), run_id="run-1", try_number=1,
                                    error_type="ConnectionError", will_retry=True)
        second = dataclasses.replace(first, try_number=2, span_id="b" * 16, error_type="ValueError",
                                     start_time=first.start_time + timedelta(minutes=5),
                                     end_time=first.end_time + timedelta(minutes=5), will_retry=False)
        third = Run(platform="airflow", group=first.group, process="load", run_id="run-1", try_number=3,
                    start_time=second.end_time, end_time=second.end_time + timedelta(seconds=3), outcome="success")
        # A failure reported as JSON has no task try of its own; the same step in another run, and another step
        # in this run, are not this run's tries.
        reported = dataclasses.replace(second, try_number=4, span_id=None, trace_id=None, error_type="KeyError",
                                       idempotency_key="report-1")
        other_run = dataclasses.replace(first, run_id="run-2", span_id="c" * 16)
        other_step = dataclasses.replace(first, process="publish", span_id="d" * 16)
        ids = store(engine, [first, second, reported, other_run, other_step],
                    [run_of(first, "failed_will_retry"), run_of(second, "failed"), third])
        with engine.connect() as conn:
            tries = tries_of_run(conn, tables, "airflow", first.group, "load", "run-1")
            assert tries_of_run(conn, tables, "airflow", first.group, "load", "no-such-run") == []
        assert [(t.try_number, t.outcome, t.failure_id, t.error_type) for t in tries] == [
            (1, "failed_will_retry", ids[0], "ConnectionError"),
            (2, "failed", ids[1], "ValueError"),
            (3, "success", None, None),
            (4, "failed", ids[2], "KeyError"),
        ]
        assert tries[2].end_time == third.end_time
    finally:
        engine.dispose()
