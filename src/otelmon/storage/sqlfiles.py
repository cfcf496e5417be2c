"""Where the SQL files are: the schema in the repository's ``sql/`` is the single source of truth."""

from __future__ import annotations

from pathlib import Path


def sql_dir() -> Path:
    packaged = Path(__file__).resolve().parent.parent / "sql"  # wheels: force-included copy
    if packaged.is_dir():
        return packaged
    source = Path(__file__).resolve().parents[3] / "sql"  # editable install / source checkout
    if source.is_dir():
        return source
    raise FileNotFoundError(f"no sql/ directory at {packaged} or {source}")


def migration_files() -> list[Path]:
    return sorted((sql_dir() / "migrations").glob("[0-9][0-9][0-9]_*.sql"))


def read_query(name: str) -> str:
    return (sql_dir() / name).read_text(encoding="utf-8")
