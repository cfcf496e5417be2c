"""The API in-process (FastAPI's TestClient) on each database backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from otelmon.api.app import create_app
from otelmon.config import Settings


@pytest.fixture
def client(database_url: str) -> Iterator[TestClient]:
    """The app on an empty database, alerting off (these tests are about what is stored and answered)."""
    # Retention off: some spans here carry times clamped to the year 1000, which a retention pass would prune
    # while the test reads them back.
    app = create_app(Settings(database_url=database_url, alerts_enabled=False, ingest_token=None, retention_days=0))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
