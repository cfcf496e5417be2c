"""Store a batch of failures in one transaction: all of it or none, with bounded deadlock retries."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from otelmon.failures.model import Failure
from otelmon.storage.errors import DatabaseUnavailable
from otelmon.storage.failures_repo import insert_failures
from otelmon.storage.tables import Tables

log = logging.getLogger(__name__)

# Called inside the transaction with the ids of newly created failures (e.g. to enqueue alerts),
# so what a hook writes commits or rolls back together with the failures.
NewFailuresHook = Callable[[Connection, list[int]], None]

_DEADLOCK_CODES = {1213, 1205}  # ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT
_MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class StoreResult:
    created_ids: list[int]
    duplicates: int


class FailureIngestor:
    def __init__(self, engine: Engine, tables: Tables, hooks: Sequence[NewFailuresHook] = ()) -> None:
        self.engine = engine
        self.tables = tables
        self.hooks = list(hooks)

    def store(self, failures: Sequence[Failure]) -> StoreResult:
        if not failures:
            return StoreResult([], 0)
        distinct = len({f.identity_key for f in failures})
        for attempt in range(1, _MAX_ATTEMPTS + 1):
            try:
                created = self._store_once(failures)
                return StoreResult(created, distinct - len(created))
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

    def _store_once(self, failures: Sequence[Failure]) -> list[int]:
        received_at = datetime.now(timezone.utc).replace(tzinfo=None)
        ingest_id = uuid.uuid4().hex
        with self.engine.begin() as conn:
            created = insert_failures(conn, self.tables, failures, received_at, ingest_id)
            if created:
                for hook in self.hooks:
                    hook(conn, created)
        return created


def _mysql_error_code(exc: DBAPIError) -> int | None:
    args = getattr(exc.orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None
