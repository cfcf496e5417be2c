"""Runs ``sql/get_new_failed_processes.sql``: the failures the next digest reports."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, DateTime, Integer, TextClause, bindparam, text

from otelmon.storage.sqlfiles import read_query

QUERY_FILE = "get_new_failed_processes.sql"


@lru_cache(maxsize=1)
def new_failures_query() -> TextClause:
    # Typed, so SQLite (which stores text) returns datetimes and compares the bound window correctly.
    return (
        text(read_query(QUERY_FILE))
        .bindparams(bindparam("window_start", type_=DateTime()))
        .columns(id=Integer(), try_number=Integer(), start_time=DateTime(), end_time=DateTime(),
                 failing_since=DateTime(), recovered=Integer())
    )


def select_new_failures(conn: Connection, window_start: datetime) -> list[Any]:
    """Unreported failures that ended at or after ``window_start`` (naive UTC), newest first."""
    return list(conn.execute(new_failures_query(), {"window_start": window_start}))
