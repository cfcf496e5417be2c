"""Which database errors mean "retry later" (503) and which are a bug that no retry fixes (500).

The errors are raised for real, by SQLite and by the test session's MariaDB, not constructed by hand."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from otelmon.storage.errors import is_unavailable


def raised(url: str, statement: str, **engine_args) -> SQLAlchemyError:
    engine = create_engine(url, **engine_args)
    try:
        with engine.connect() as conn:
            conn.execute(text(statement))
    except SQLAlchemyError as exc:
        return exc
    finally:
        engine.dispose()
    raise AssertionError(f"{statement} did not fail")


def test_a_schema_error_is_not_unavailability(database_url):
    # A missing table: on SQLite and MariaDB alike an OperationalError, and a bug, not an outage.
    assert not is_unavailable(raised(database_url, "SELECT no_such_column FROM no_such_table"))


def test_a_refused_connection_is_unavailability(database_url):
    if database_url.startswith("sqlite"):
        url = "sqlite:////nonexistent-dir/otelmon.db"  # "unable to open database file"
        assert is_unavailable(raised(url, "SELECT 1"))
    else:
        url = "mysql+pymysql://otelmon:x@127.0.0.1:1/otelmon"  # nothing listens on port 1: 2003
        assert is_unavailable(raised(url, "SELECT 1", connect_args={"connect_timeout": 2}))


def test_a_syntax_error_is_not_unavailability(database_url):
    assert not is_unavailable(raised(database_url, "SELEC 1"))
