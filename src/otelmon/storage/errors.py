"""Storage failures as the API reports them: retryable (503) only when the same request will work later."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

# MariaDB client and server errors that mean "away or busy", not "wrong": can't connect (2002, 2003), gone
# away or lost mid-query (2006, 2013, 2055), too many connections (1040), lock wait timeout and deadlock
# (1205, 1213), server shutting down (1053), read-only during failover (1290, 1836).
_MYSQL_TRANSIENT = {1040, 1053, 1205, 1213, 1290, 1836, 2002, 2003, 2006, 2013, 2055}
# sqlite3 says these in words: the file is busy with another writer, or cannot be reached right now.
_SQLITE_TRANSIENT = ("database is locked", "database table is locked", "unable to open database file",
                     "disk i/o error")


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
    args = getattr(exc.orig, "args", ())
    if args and isinstance(args[0], int):
        return args[0] in _MYSQL_TRANSIENT
    if isinstance(exc, InterfaceError):
        return True  # the driver lost its connection before any code was known
    message = str(exc.orig).lower()
    return any(words in message for words in _SQLITE_TRANSIENT)
