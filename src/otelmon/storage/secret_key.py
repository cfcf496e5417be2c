"""The installation's secret key, which signs action links: ``OTELMON_SECRET_KEY`` when set, else a random key
created once per database beside the installation id (sql/migrations/010_silences.sql)."""

from __future__ import annotations

import secrets

from sqlalchemy import Connection, Engine, String, column, select, table, update

from otelmon.config import Settings
from otelmon.storage.installation import installation_id

_INSTALLATION = table("installation", column("id"), column("secret_key", String))
_ROW = 1


def secret_key(conn: Connection, settings: Settings) -> bytes:
    """The key, created by the first caller in the caller's transaction (commit it). Concurrent first callers
    agree: the UPDATE only fills an empty key, so the second one changes nothing, and both read the one kept
    (a locking read sees the latest commit)."""
    if settings.secret_key is not None and settings.secret_key.get_secret_value():
        return settings.secret_key.get_secret_value().encode()
    t = _INSTALLATION
    query = select(t.c.secret_key).where(t.c.id == _ROW)
    found = conn.execute(query).scalar()
    if found:
        return found.encode()
    installation_id(conn)  # the row the key lives in
    conn.execute(update(t).where(t.c.id == _ROW, t.c.secret_key.is_(None)).values(secret_key=secrets.token_hex(32)))
    return conn.execute(query.with_for_update()).scalar_one().encode()


def existing_secret_key(conn: Connection, settings: Settings) -> bytes | None:
    """The key if there is one yet; reads only (checking a link must change nothing: no key, no valid link)."""
    if settings.secret_key is not None and settings.secret_key.get_secret_value():
        return settings.secret_key.get_secret_value().encode()
    t = _INSTALLATION
    found = conn.execute(select(t.c.secret_key).where(t.c.id == _ROW)).scalar()
    return found.encode() if found else None


def ensure_secret_key(engine: Engine, settings: Settings) -> bytes:
    """The key, created (and committed) if this is the database's first use of one."""
    with engine.begin() as conn:
        return secret_key(conn, settings)
