"""What a silence would hold back if it were made now: the issues whose latest failure its matchers match (the
console shows them before "Create silence"), matched as dispatch matches (``matching.matches``), bounded."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, ColumnElement, Connection, select

from otelmon.silences.matching import matches
from otelmon.silences.model import COLUMNS, GLOB_CHARS, check_matchers
from otelmon.storage.tables import Tables

# Issues are one per distinct error, but a glob such as ``*`` still must not read an unbounded table for a
# preview: past this many candidates the count is "at least".
SCAN_LIMIT = 5000


@dataclass(frozen=True)
class Preview:
    issues: list[Any]  # the first matches, most recently seen first (rows of ``issues``)
    count: int  # how many match (of the candidates read)
    capped: bool  # SCAN_LIMIT candidates were read: ``count`` is a lower bound


def _narrowing(column: Column, pattern: str) -> ColumnElement[bool] | None:
    """A condition every value the glob matches meets (and some others: a case-insensitive collation, a LIKE
    wildcard in the text), so the database returns a superset that the glob then decides on exactly."""
    if not GLOB_CHARS & set(pattern):
        return column == pattern
    prefix = pattern[: min(pattern.find(c) for c in GLOB_CHARS if c in pattern)]
    if not prefix:
        return None
    escaped = prefix.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return column.like(f"{escaped}%", escape="/")


def preview(conn: Connection, tables: Tables, matchers: Mapping[str, str], limit: int = 10) -> Preview:
    """The issues ``matchers`` (checked as ``check_matchers``; ValueError otherwise) match now: up to ``limit``
    of them, most recently seen first, and how many."""
    matchers = check_matchers(dict(matchers))
    t = tables.issues
    conditions = [c for key, pattern in matchers.items() if (c := _narrowing(t.c[COLUMNS[key]], pattern)) is not None]
    query = (select(t.c.id, t.c.fingerprint, t.c.state, t.c.platform, t.c.group_name, t.c.process_name,
                    t.c.error_type, t.c.last_failure_id, t.c.last_seen, t.c.occurrences)
             .where(*conditions).order_by(t.c.last_seen.desc(), t.c.id.desc()).limit(SCAN_LIMIT + 1))
    rows = list(conn.execute(query))
    capped = len(rows) > SCAN_LIMIT
    found = [row for row in rows[:SCAN_LIMIT]
             if matches(matchers, {key: getattr(row, column) for key, column in COLUMNS.items()})]
    return Preview(issues=found[:limit], count=len(found), capped=capped)
