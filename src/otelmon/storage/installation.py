"""The installation id: random, created once per database, part of every Message-ID (docs/design.md "Email")."""

from __future__ import annotations

import secrets

from sqlalchemy import Connection, DateTime, Engine, Integer, String, column, insert, select, table

from otelmon.clock import utcnow
from otelmon.storage.dialect import is_mysql

# sql/migrations/005_installation.sql; a lightweight construct, so callers need no reflected Tables.
_INSTALLATION = table(
    "installation", column("id", Integer), column("installation_id", String), column("created_at", DateTime)
)
_ROW = 1


def installation_id(conn: Connection) -> str:
    """This database's installation id, created by the first caller, in the caller's transaction (commit it).
    Concurrent first callers agree: each inserts its own candidate, the primary key keeps one (the other
    inserts wait for it, then are ignored), and all read that one: a locking read sees the latest commit
    whatever the isolation level."""
    t = _INSTALLATION
    query = select(t.c.installation_id).where(t.c.id == _ROW)
    found = conn.execute(query).scalar()
    if found is not None:
        return found
    ignore = "IGNORE" if is_mysql(conn.dialect.name) else "OR IGNORE"
    conn.execute(insert(t).prefix_with(ignore),
                 {"id": _ROW, "installation_id": secrets.token_hex(8), "created_at": utcnow()})
    return conn.execute(query.with_for_update()).scalar_one()


def existing_installation_id(conn: Connection) -> str | None:
    """The installation id if the database has one yet; reads only (for previews that must change nothing)."""
    t = _INSTALLATION
    return conn.execute(select(t.c.installation_id).where(t.c.id == _ROW)).scalar()


def ensure_installation_id(engine: Engine) -> str:
    """The installation id, created (and committed) if this is the database's first start."""
    with engine.begin() as conn:
        return installation_id(conn)
