"""Store batches of failures: all of a batch or none of it, with bounded deadlock retries.

Concurrent requests share transactions (group commit): the first caller to find no write in progress
becomes the writer, takes every batch waiting at that moment and commits them together, then hands each
caller its own result. A caller returns only after its rows are committed (or with the error that
kept them out), so a 200 still means "stored"; the fixed cost of a transaction — a connection checkout,
BEGIN, the id query, COMMIT and its log flush — is paid once for many requests.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from otelmon.clock import utcnow
from otelmon.failures.model import Failure
from otelmon.storage.errors import DatabaseUnavailable
from otelmon.storage.failures_repo import BatchOutcome, CreatedReader, insert_failures, select_created
from otelmon.storage.tables import Tables

log = logging.getLogger(__name__)

_DEADLOCK_CODES = {1213, 1205}  # ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT
_MAX_ATTEMPTS = 3
# Bounds one shared transaction (and so the wait of the batches in it).
_MAX_FAILURES_PER_TRANSACTION = 2000


@dataclass(frozen=True)
class StoreResult:
    created_ids: list[int]
    duplicates: int


@dataclass
class _Submission:
    failures: Sequence[Failure]
    ingest_id: str
    result: Future


class FailureIngestor:
    def __init__(self, engine: Engine, tables: Tables, read_created: CreatedReader | None = None) -> None:
        """``read_created`` runs inside each transaction (with alerting, it also writes the outbox rows, so
        they commit or roll back together with the failures)."""
        self.engine = engine
        self.tables = tables
        self.read_created = read_created or select_created(tables)
        self._lock = threading.Lock()
        self._waiting: list[_Submission] = []
        self._writing = False

    def store(self, failures: Sequence[Failure]) -> StoreResult:
        """Blocking: returns once the failures are committed; raises ``DatabaseUnavailable`` if not."""
        if not failures:
            return StoreResult([], 0)
        mine = _Submission(failures, uuid.uuid4().hex, Future())
        with self._lock:
            self._waiting.append(mine)
            lead = not self._writing
            if lead:
                self._writing = True
        if lead:
            self._write_while_waiting()
        return mine.result.result()

    def _write_while_waiting(self) -> None:
        while True:
            with self._lock:
                group = _take(self._waiting)
                if not group:
                    self._writing = False
                    return
            try:
                created = self._store_with_retries(group)
            except DatabaseUnavailable as exc:
                for submission in group:
                    submission.result.set_exception(exc)
                continue
            except BaseException as exc:  # noqa: BLE001 - never leave a caller waiting on a dead writer
                with self._lock:
                    stranded, self._waiting = self._waiting, []
                    self._writing = False
                for submission in group + stranded:
                    submission.result.set_exception(exc)
                raise
            for submission in group:
                outcome = created[submission.ingest_id]
                submission.result.set_result(
                    StoreResult(outcome.created_ids, outcome.identities - len(outcome.created_ids))
                )

    def _store_with_retries(self, group: list[_Submission]) -> dict[str, BatchOutcome]:
        for attempt in range(1, _MAX_ATTEMPTS + 1):
            try:
                return self._store_once(group)
            except DBAPIError as exc:
                code = _mysql_error_code(exc)
                if code in _DEADLOCK_CODES and attempt < _MAX_ATTEMPTS:
                    log.info("retrying failure batch after lock conflict (attempt %d)", attempt)
                    continue
                log.warning("database refused a failure batch: %s", exc.__class__.__name__, exc_info=True)
                raise DatabaseUnavailable(str(exc.orig or exc)) from exc
            except SQLAlchemyError as exc:
                log.warning("database error while storing failures", exc_info=True)
                raise DatabaseUnavailable(str(exc)) from exc
        raise AssertionError("unreachable")

    def _store_once(self, group: list[_Submission]) -> dict[str, BatchOutcome]:
        received_at = utcnow()
        with self.engine.begin() as conn:
            return insert_failures(
                conn, self.tables, [(s.failures, s.ingest_id) for s in group], received_at, self.read_created
            )


def _take(waiting: list[_Submission]) -> list[_Submission]:
    """Everything waiting, up to the size bound (at least one submission, however large)."""
    group: list[_Submission] = []
    size = 0
    while waiting and (not group or size + len(waiting[0].failures) <= _MAX_FAILURES_PER_TRANSACTION):
        submission = waiting.pop(0)
        group.append(submission)
        size += len(submission.failures)
    return group


def _mysql_error_code(exc: DBAPIError) -> int | None:
    args = getattr(exc.orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None
