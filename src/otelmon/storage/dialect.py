"""The few places where MariaDB and SQLite differ, kept in one file."""

from __future__ import annotations

import re

_AUTO_PK = re.compile(r"BIGINT\s+NOT\s+NULL\s+AUTO_INCREMENT\s+PRIMARY\s+KEY", re.IGNORECASE)
_TABLE_OPTIONS = re.compile(r"\)\s*ENGINE\s*=[^;]*$", re.IGNORECASE)
_MYSQL_TEXT = re.compile(r"\b(MEDIUMTEXT|LONGTEXT)\b", re.IGNORECASE)


def to_sqlite(statement: str) -> str:
    """Rewrite a MariaDB DDL statement from ``sql/`` for SQLite.

    The schema is written once, for MariaDB; SQLite (the zero-configuration default) understands all of
    it except three spellings, rewritten here rather than keeping a second copy of the schema.
    """
    statement = _AUTO_PK.sub("INTEGER PRIMARY KEY AUTOINCREMENT", statement)
    statement = _TABLE_OPTIONS.sub(")", statement.rstrip())
    return _MYSQL_TEXT.sub("TEXT", statement)


def split_statements(script: str) -> list[str]:
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def is_mysql(dialect_name: str) -> bool:
    return dialect_name in ("mysql", "mariadb")
