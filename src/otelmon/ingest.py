"""Store batches of failures and runs: all of a batch or none of it, with bounded deadlock retries.

The same transaction keeps issues up to date (``otelmon.issues``): a new failure opens or reopens its issue, a
new successful run resolves the open issues of its step.

Concurrent requests share transactions (group commit): the first caller to find no write in progress
becomes the writer, takes every batch waiting at that moment and commits them together, then hands each
caller its own result. A caller returns only after its rows are committed (or with the error that
kept them out), so a 200 still means "stored"; the fixed cost of a transaction — a connection checkout,
BEGIN, the id query, COMMIT and its log flush — is paid once for many requests.

Isolation (docs/design.md, "OTLP/HTTP receiver"): every value is fitted to its column before it joins a
group, and a group the database still refuses for its content (not for being away) is written again one
batch at a time, then one failure at a time, so each caller gets the answer its own content deserves:
``DatabaseUnavailable`` only when the same failures will succeed later, and a failure the database cannot
take is reported back as rejected, never as an outage.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from otelmon.clock import utcnow
from otelmon.failures.model import Failure
from otelmon.issues.storage import ChangeHook, IssueChange, track
from otelmon.runs.model import Run
from otelmon.storage.errors import (
    MYSQL_LOCK_CONFLICT_CODES,
    DatabaseUnavailable,
    mysql_code_is_transient,
    mysql_error_code,
)
from otelmon.storage.failures_repo import BatchOutcome, CreatedReader, insert_failures, select_created
from otelmon.storage.rows import fit_try
from otelmon.storage.runs_repo import insert_runs
from otelmon.storage.tables import Tables
from otelmon.text import clip

log = logging.getLogger(__name__)

_MAX_ATTEMPTS = 3
# Bounds one shared transaction (and so the wait of the batches in it).
_MAX_RECORDS_PER_TRANSACTION = 2000
_MAX_REASONS = 5  # partial_success carries a sample of reasons, not one per refused failure


@dataclass(frozen=True)
class StoreResult:
    created_ids: list[int]
    duplicates: int
    # Failures the database refused for their content (after fitting): for ``partial_success``.
    rejected: int = 0
    reasons: list[str] = field(default_factory=list)
    # Issues whose state this batch's transaction changed (shared with the batches committed with it).
    issue_changes: list[IssueChange] = field(default_factory=list)


class _ContentRefused(Exception):
    """The database refused a transaction for what it held; the same rows would fail again."""


@dataclass
class _Submission:
    failures: Sequence[Failure]
    ingest_id: str
    result: Future
    runs: Sequence[Run] = ()

    @property
    def size(self) -> int:
        return len(self.failures) + len(self.runs)


@dataclass
class _Committed:
    outcomes: dict[str, BatchOutcome]
    issue_changes: list[IssueChange]


class FailureIngestor:
    def __init__(self, engine: Engine, tables: Tables, read_created: CreatedReader | None = None,
                 on_issue_changes: ChangeHook | None = None) -> None:
        """``read_created`` runs inside each transaction (with alerting, it also writes the outbox rows, so
        they commit or roll back together with the failures); so does ``on_issue_changes``, given the issues
        whose state the transaction changed (e.g. resolved ones, for recovery notices)."""
        self.engine = engine
        self.tables = tables
        self.read_created = read_created or select_created(tables)
        self.on_issue_changes = on_issue_changes
        self._lock = threading.Lock()
        self._waiting: list[_Submission] = []
        self._writing = False

    def store(self, failures: Sequence[Failure], runs: Sequence[Run] = ()) -> StoreResult:
        """Blocking: returns once the failures and runs are committed; raises ``DatabaseUnavailable`` if not."""
        if not failures and not runs:
            return StoreResult([], 0)
        mine = _Submission([fit_try(f) for f in failures], uuid.uuid4().hex, Future(), [fit_try(r) for r in runs])
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
                self._commit(group)
            except BaseException as exc:  # noqa: BLE001 - never leave a caller waiting on a dead writer
                with self._lock:
                    stranded, self._waiting = self._waiting, []
                    self._writing = False
                for submission in group + stranded:
                    if not submission.result.done():
                        submission.result.set_exception(exc)
                raise

    def _commit(self, group: list[_Submission]) -> None:
        """Commit the group and answer each of its callers."""
        try:
            created = self._store_with_retries(group)
        except DatabaseUnavailable as exc:
            for submission in group:
                submission.result.set_exception(exc)
            return
        except _ContentRefused as exc:
            if len(group) > 1:
                log.info("a shared transaction was refused for its content; writing its %d batches one by one",
                         len(group))
                for submission in group:
                    self._commit([submission])
            else:
                log.info("a batch was refused for its content (%s); writing its failures one by one", exc)
                try:
                    group[0].result.set_result(self._store_each(group[0]))
                except DatabaseUnavailable as unavailable:  # rows stored before it stay: redelivery is idempotent
                    group[0].result.set_exception(unavailable)
            return
        for submission in group:
            outcome = created.outcomes.get(submission.ingest_id) or BatchOutcome()
            submission.result.set_result(
                StoreResult(outcome.created_ids, outcome.identities - len(outcome.created_ids),
                            issue_changes=created.issue_changes)
            )

    def _store_each(self, submission: _Submission) -> StoreResult:
        """One transaction per failure and per run: those the database refuses are rejected, the others stored.

        Each transaction has its own ingest id, so the read-back (and the alert outbox) sees only its row.
        """
        created: list[int] = []
        stored: set[str] = set()
        reasons: list[str] = []
        changes: list[IssueChange] = []
        rejected = 0
        singles = [([failure], []) for failure in submission.failures] + [([], [run]) for run in submission.runs]
        for failures, runs in singles:
            single = _Submission(failures, uuid.uuid4().hex, submission.result, runs)
            what = f"failure {clip(failures[0].process, 80)!r}" if failures else f"run {clip(runs[0].process, 80)!r}"
            try:
                committed = self._store_with_retries([single])
            except _ContentRefused as exc:
                rejected += 1
                if len(reasons) < _MAX_REASONS:
                    reasons.append(f"{what}: the database refused it: {exc}")
                continue
            changes += committed.issue_changes
            created += (committed.outcomes.get(single.ingest_id) or BatchOutcome()).created_ids
            stored.update(failure.identity_key for failure in failures)
        created.sort()
        return StoreResult(created, len(stored) - len(created), rejected, reasons, changes)

    def _store_with_retries(self, group: list[_Submission]) -> _Committed:
        for attempt in range(1, _MAX_ATTEMPTS + 1):
            try:
                return self._store_once(group)
            except DBAPIError as exc:
                code = mysql_error_code(exc)
                if code in MYSQL_LOCK_CONFLICT_CODES and attempt < _MAX_ATTEMPTS:
                    log.info("retrying failure batch after lock conflict (attempt %d)", attempt)
                    continue
                if _tied_to_content(exc, code):
                    raise _ContentRefused(clip(str(exc.orig or exc), 300)) from exc
                log.warning("database refused a failure batch: %s", exc.__class__.__name__, exc_info=True)
                raise DatabaseUnavailable(str(exc.orig or exc)) from exc
            except SQLAlchemyError as exc:
                log.warning("database error while storing failures", exc_info=True)
                raise DatabaseUnavailable(str(exc)) from exc
            except (ValueError, TypeError, OverflowError) as exc:
                # The driver could not convert a value (sqlite3: "Python int too large to convert").
                raise _ContentRefused(clip(f"{exc.__class__.__name__}: {exc}", 300)) from exc
        raise AssertionError("unreachable")

    def _store_once(self, group: list[_Submission]) -> _Committed:
        received_at = utcnow()
        with self.engine.begin() as conn:
            outcomes = insert_failures(
                conn, self.tables, [(s.failures, s.ingest_id) for s in group], received_at, self.read_created
            )
            insert_runs(conn, self.tables, [(s.runs, s.ingest_id) for s in group], received_at)
            changes = track(conn, self.tables, [s.ingest_id for s in group], received_at)
            if changes and self.on_issue_changes is not None:
                self.on_issue_changes(conn, changes)
        return _Committed(outcomes, changes)


def _take(waiting: list[_Submission]) -> list[_Submission]:
    """Everything waiting, up to the size bound (at least one submission, however large)."""
    group: list[_Submission] = []
    size = 0
    while waiting and (not group or size + waiting[0].size <= _MAX_RECORDS_PER_TRANSACTION):
        submission = waiting.pop(0)
        group.append(submission)
        size += submission.size
    return group


def _tied_to_content(exc: DBAPIError, code: int | None) -> bool:
    """Whether a refusal is about the rows (retry them apart) rather than the database being away.

    Unknown errors count as content: writing a group apart costs a few transactions, whereas calling a
    content error an outage answers 503 to every batch in the group and has the senders retry for ever.
    """
    if exc.connection_invalidated:
        return False
    if code is not None:
        # A lock conflict that outlasted its retries is "not now" too.
        return not mysql_code_is_transient(code)
    # SQLite names no codes: its OperationalError is "database is locked", "disk I/O error", "unable to open".
    return not isinstance(exc, OperationalError)

