"""The few places where MariaDB and SQLite differ, kept in one file."""

from __future__ import annotations

import re

_AUTO_PK = re.compile(r"BIGINT\s+NOT\s+NULL\s+AUTO_INCREMENT\s+PRIMARY\s+KEY", re.IGNORECASE)
_TABLE_OPTIONS = re.compile(r"\)\s*ENGINE\s*=[^;]*$", re.IGNORECASE)
_MYSQL_TEXT = re.compile(r"\b(MEDIUMTEXT|LONGTEXT)\b", re.IGNORECASE)
_ADD_COLUMN_IF_NOT_EXISTS = re.compile(
    r"^(ALTER\s+TABLE\s+(\w+)\s+ADD\s+COLUMN)\s+IF\s+NOT\s+EXISTS\s+(\w+)", re.IGNORECASE
)
_DROP_INDEX_ON = re.compile(r"^(DROP\s+INDEX\s+(?:IF\s+EXISTS\s+)?\w+)\s+ON\s+\w+", re.IGNORECASE)


def to_sqlite(statement: str) -> str:
    """Rewrite a MariaDB DDL statement from ``sql/`` for SQLite.

    The schema is written once, for MariaDB; SQLite (the zero-configuration default) understands all of
    it except four spellings, rewritten here rather than keeping a second copy of the schema.
    """
    statement = _DROP_INDEX_ON.sub(r"\1", statement.strip())  # SQLite index names are per schema
    statement = _AUTO_PK.sub("INTEGER PRIMARY KEY AUTOINCREMENT", statement)
    statement = _TABLE_OPTIONS.sub(")", statement)
    return _MYSQL_TEXT.sub("TEXT", statement)


def sqlite_added_column(statement: str) -> tuple[str, str, str] | None:
    """SQLite has no ``ADD COLUMN IF NOT EXISTS``: for such a statement, (table, column, the statement
    without the condition), for the caller to run only while the column is missing."""
    statement = statement.strip()
    match = _ADD_COLUMN_IF_NOT_EXISTS.match(statement)
    if match is None:
        return None
    unconditional = f"{match.group(1)} {match.group(3)}{statement[match.end():]}"
    return match.group(2), match.group(3), unconditional


def split_statements(script: str) -> list[str]:
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def is_mysql(dialect_name: str) -> bool:
    return dialect_name in ("mysql", "mariadb")
