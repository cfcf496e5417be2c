"""Storage failures as the API reports them: retryable (503) only when the same request will work later."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

# MariaDB lock conflicts: retried at once a few times, then "not now" like the rest below.
MYSQL_LOCK_CONFLICT_CODES = {1213, 1205}  # ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT
# Server errors that say "not now" rather than "not this": disk full, out of memory or resources, too many
# connections, shutting down, network errors, read-only, interrupted or killed, statement time limits,
# idle disconnect. Client-side codes (2000-2999: cannot connect, server gone away, lost connection) too.
MYSQL_UNAVAILABLE_CODES = {1021, 1037, 1038, 1041, 1040, 1053, 1152, 1153, 1154, 1155, 1156, 1157, 1158, 1159,
                           1160, 1161, 1203, 1290, 1317, 1836, 1927, 1969, 3024, 4031}
# sqlite3 says these in words: the file is busy with another writer, or cannot be reached right now.
_SQLITE_TRANSIENT = ("database is locked", "database table is locked", "unable to open database file",
                     "disk i/o error")


def mysql_error_code(exc: DBAPIError) -> int | None:
    args = getattr(exc.orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def mysql_code_is_transient(code: int) -> bool:
    return code in MYSQL_UNAVAILABLE_CODES or code in MYSQL_LOCK_CONFLICT_CODES or 2000 <= code < 3000


class DatabaseUnavailable(Exception):
    """The database could not take the write or answer the read; nothing was committed."""


def is_unavailable(exc: SQLAlchemyError) -> bool:
    """True when the database is away or busy, so the same request will succeed later (answer 503 with
    Retry-After); False for an error in the statement or the schema (a missing table, an unknown column),
    which no retry fixes and which must surface as a bug, not as "database down"."""
    if isinstance(exc, PoolTimeout) or getattr(exc, "connection_invalidated", False):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    code = mysql_error_code(exc)
    if code is not None:
        return mysql_code_is_transient(code)
    if isinstance(exc, InterfaceError):
        return True  # the driver lost its connection before any code was known
    message = str(exc.orig).lower()
    return any(words in message for words in _SQLITE_TRANSIENT)
