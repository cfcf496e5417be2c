"""What alerting builds recovery notices on: the issue changes of an ingest transaction, handed to a hook
inside that transaction, and the resolved issues readable afterwards."""

from __future__ import annotations

from datetime import timedelta

import pytest

from otelmon.clock import utcnow
from otelmon.config import Settings
from otelmon.ingest import FailureIngestor
from otelmon.issues.storage import resolved, resolved_since
from otelmon.runs.model import Run
from otelmon.storage.database import create_db_engine
from otelmon.storage.errors import DatabaseUnavailable
from otelmon.storage.migrate import migrate
from otelmon.storage.tables import Tables
from tests.digest.seed import failure


def success_after(broken) -> Run:
    return Run(platform=broken.platform, group=broken.group, process=broken.process, run_id="next", try_number=1,
               start_time=broken.end_time, end_time=broken.end_time + timedelta(seconds=1), outcome="success")


def test_the_hook_sees_each_change_in_the_transaction_and_resolved_issues_can_be_read_back(database_url: str):
    engine = create_db_engine(Settings(database_url=database_url))
    try:
        migrate(engine)
        tables = Tables.reflect(engine)
        seen = []
        ingestor = FailureIngestor(engine, tables, on_issue_changes=lambda conn, changes: seen.append(changes))
        broken = failure("load")
        opened = ingestor.store([broken]).issue_changes
        assert [(c.old_state, c.new_state) for c in opened] == [(None, "new")]
        before = utcnow()
        result = ingestor.store([], [success_after(broken)])
        [change] = resolved(result.issue_changes)
        assert (change.old_state, change.new_state, change.fingerprint) == ("new", "resolved", broken.fingerprint)
        assert change.issue_id == opened[0].issue_id and change.issue.resolved_at == success_after(broken).end_time
        assert [[c.new_state for c in changes] for changes in seen] == [["new"], ["resolved"]]
        with engine.connect() as conn:
            assert [row.id for row in resolved_since(conn, tables, before)] == [change.issue_id]
        # Nothing changes: no call.
        ingestor.store([], [success_after(broken)])
        assert len(seen) == 2

        def refuse(conn, changes):
            raise DatabaseUnavailable("the hook could not write")

        # A hook that fails rolls the whole transaction back: the failure is not stored without its change.
        failing = FailureIngestor(engine, tables, on_issue_changes=refuse)
        with pytest.raises(DatabaseUnavailable):
            failing.store([failure("other")])
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM failures WHERE process_name = 'other'").scalar() == 0
    finally:
        engine.dispose()
