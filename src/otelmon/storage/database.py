"""Engine creation with timeouts, UTC sessions and connection checks for both databases."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from otelmon.config import Settings
from otelmon.storage.dialect import is_mysql


def create_db_engine(settings: Settings) -> Engine:
    url = make_url(settings.database_url)
    if is_mysql(url.get_backend_name()):
        return create_engine(
            url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_pool_size,
            pool_timeout=settings.db_connect_timeout_seconds,
            # A restarted MariaDB leaves dead connections in the pool; check before use.
            pool_pre_ping=True,
            pool_recycle=3600,
            # No gap locks: under REPEATABLE READ the alert dispatcher's locking reads would hold ingest
            # inserts into the same index ranges until it commits. Every statement here either stands
            # alone or locks exactly the rows it reads, so nothing relies on repeatable reads.
            isolation_level="READ COMMITTED",
            connect_args={
                "connect_timeout": settings.db_connect_timeout_seconds,
                "read_timeout": settings.db_read_timeout_seconds,
                "write_timeout": settings.db_read_timeout_seconds,
                "charset": "utf8mb4",
                "init_command": "SET time_zone = '+00:00'",
            },
        )
    if url.get_backend_name() == "sqlite":
        engine = create_engine(
            url, connect_args={"timeout": settings.db_read_timeout_seconds, "check_same_thread": False}
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    backend = url.get_backend_name()
    raise ValueError(f"unsupported OTELMON_DATABASE_URL backend {backend!r}: use mysql+pymysql or sqlite")


@contextmanager
def read_snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection for reads only, all of which see one snapshot: a consistent picture across tables
    while writers commit (the engine's READ COMMITTED gives each statement its own)."""
    with engine.connect() as conn:
        if is_mysql(engine.dialect.name):
            # InnoDB's REPEATABLE READ takes the snapshot at the transaction's first read.
            conn.execution_options(isolation_level="REPEATABLE READ")
        else:
            # pysqlite begins no transaction before a SELECT; in WAL mode a read transaction is a snapshot.
            conn.exec_driver_sql("BEGIN")
        yield conn


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction whose reads already hold what its writes need: read, decide, then write safely.

    On MariaDB the caller's ``SELECT ... FOR UPDATE`` locks the rows it reads. SQLite ignores FOR UPDATE and
    pysqlite begins no transaction before a SELECT, so another connection could change a row between the
    read and the write (a cancel landing between the sender's read and its claim): ``BEGIN IMMEDIATE``
    takes SQLite's write lock before the first read instead. Committed on success, rolled back on error.
    """
    with engine.connect() as conn:
        if not is_mysql(engine.dialect.name):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the API read while it writes; NORMAL sync is durable across process crashes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
