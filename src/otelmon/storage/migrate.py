"""Apply the numbered files of ``sql/migrations`` once each, recording them in ``schema_migrations``."""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Engine, inspect, text

from otelmon.clock import utcnow
from otelmon.storage.dialect import is_mysql, split_statements, sqlite_added_column, to_sqlite
from otelmon.storage.sqlfiles import migration_files

log = logging.getLogger(__name__)

_LOCK_NAME = "otelmon_migrate"
_LOCK_TIMEOUT_SECONDS = 60

_CREATE_LEDGER = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version VARCHAR(255) NOT NULL PRIMARY KEY,"
    " applied_at DATETIME(6) NOT NULL)"
)


def migrate(engine: Engine) -> list[str]:
    """Bring the schema up to date; returns the versions applied now. Safe with several replicas."""
    applied_now: list[str] = []
    mysql = is_mysql(engine.dialect.name)
    with engine.connect() as conn:
        if mysql:
            # Several API replicas may start together; DDL is idempotent but the ledger insert is not.
            got = conn.execute(text("SELECT GET_LOCK(:n, :t)"), {"n": _LOCK_NAME, "t": _LOCK_TIMEOUT_SECONDS})
            if got.scalar() != 1:
                raise RuntimeError("timed out waiting for the migration lock")
        try:
            conn.execute(text(_CREATE_LEDGER))
            conn.commit()
            done = {row[0] for row in conn.execute(text("SELECT version FROM schema_migrations"))}
            for path in migration_files():
                version = path.stem
                if version in done:
                    continue
                log.info("applying migration %s", version)
                for statement in split_statements(path.read_text(encoding="utf-8")):
                    _execute(conn, statement, mysql)
                conn.execute(
                    text("INSERT INTO schema_migrations (version, applied_at) VALUES (:v, :t)"),
                    {"v": version, "t": utcnow()},
                )
                conn.commit()
                applied_now.append(version)
        finally:
            if mysql:
                conn.execute(text("SELECT RELEASE_LOCK(:n)"), {"n": _LOCK_NAME})
    return applied_now


def pending(engine: Engine) -> list[str]:
    """The versions ``migrate`` would apply now, found without changing anything (read-only commands)."""
    with engine.connect() as conn:
        if not inspect(conn).has_table("schema_migrations"):
            return [path.stem for path in migration_files()]
        done = {row[0] for row in conn.execute(text("SELECT version FROM schema_migrations"))}
    return [path.stem for path in migration_files() if path.stem not in done]


def _execute(conn: Connection, statement: str, mysql: bool) -> None:
    """Run one statement of ``sql/`` as written (MariaDB) or in SQLite's spelling."""
    if not mysql:
        statement = to_sqlite(statement)
        added = sqlite_added_column(statement)
        if added is not None:
            table, column, statement = added
            if column in {c["name"] for c in inspect(conn).get_columns(table)}:
                return
    conn.execute(text(statement))
