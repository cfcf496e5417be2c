"""Which database a URL names, said so a person can check it: password masked, SQLite as an absolute path."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url


def sqlite_file(database_url: str) -> Path | None:
    """The file a SQLite URL names, resolved against the working directory; None for other databases."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    # As pysqlite opens it: relative to the working directory, and no ~ expansion (sqlite:///~/x is ./~/x).
    return Path(url.database).resolve()


def describe(database_url: str) -> str:
    path = sqlite_file(database_url)
    if path is not None:
        return f"SQLite file {path}"
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return "SQLite in memory"
    return url.render_as_string(hide_password=True)


def missing_sqlite_file(database_url: str) -> Path | None:
    """The SQLite file when it does not exist yet: connecting would create it, so read-only commands stop."""
    path = sqlite_file(database_url)
    return path if path is not None and not path.exists() else None
