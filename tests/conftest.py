"""Shared fixtures: a real MariaDB (started here when none is given) and the API under uvicorn.

Set ``OTELMON_TEST_MARIADB_DIR`` to reuse a data directory between runs, or leave it unset for a
fresh server in a temporary directory.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.harness.api_server import ApiServer
from tests.harness.mariadb import MariaDBServer
from tests.harness.smtp import SmtpSink

# Retention off unless a test turns it on (tests/storage/test_retention.py): many tests store failures at fixed
# dates, which a 30-day retention pass in the API would prune once those dates are a month old.
os.environ.setdefault("OTELMON_RETENTION_DAYS", "0")

@pytest.fixture(scope="session")
def mariadb_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDBServer]:
    server = MariaDBServer(tmp_path_factory.mktemp("mariadb")).start()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture
def mariadb_database(mariadb_server: MariaDBServer) -> Iterator[str]:
    """A fresh, empty database on the shared server; its SQLAlchemy URL."""
    with mariadb_server.scratch_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "mariadb"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend the API supports: a SQLite file, then a MariaDB database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'otelmon.db'}"
    return request.getfixturevalue("mariadb_database")


@pytest.fixture
def mariadb_url(mariadb_server: MariaDBServer) -> Iterator[str]:
    """A fresh database with the schema from sql/ applied."""
    with mariadb_server.scratch_database(migrated=True) as url:
        yield url


@pytest.fixture
def start_api() -> Iterator[Callable[..., ApiServer]]:
    """Start ``otelmon serve`` with the given environment; every server is stopped afterwards."""
    servers: list[ApiServer] = []

    def start(env: dict[str, str], cwd: Path | None = None, clean_env: bool = False) -> ApiServer:
        server = ApiServer(env, cwd=cwd, clean_env=clean_env)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def api_server(start_api: Callable[..., ApiServer], mariadb_url: str) -> ApiServer:
    """The API on MariaDB, without an ingest token."""
    return start_api({"OTELMON_DATABASE_URL": mariadb_url})


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A real SMTP server (aiosmtpd) on loopback that keeps every message it receives."""
    sink = SmtpSink().start()
    yield sink
    sink.stop()
