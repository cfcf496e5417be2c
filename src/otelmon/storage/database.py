"""Engine creation with timeouts, UTC sessions and connection checks for both databases."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event
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


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the API read while it writes; NORMAL sync is durable across process crashes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
