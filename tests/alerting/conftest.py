from collections.abc import Callable

import httpx
import pytest

from otelmon.config import Settings
from otelmon.storage.database import create_db_engine
from otelmon.storage.migrate import migrate
from otelmon.storage.tables import Tables
from tests.harness.api_server import ApiServer
from tests.harness.smtp import SmtpSink
from tests.harness.waiting import wait_until

TEAM = "data-team@example.com"


@pytest.fixture
def alert_env(mariadb_url: str, smtp_sink: SmtpSink) -> dict[str, str]:
    return {
        "OTELMON_DATABASE_URL": mariadb_url,
        "OTELMON_SMTP_HOST": "127.0.0.1",
        "OTELMON_SMTP_PORT": str(smtp_sink.port),
        "OTELMON_SMTP_MAIL_FROM": "otelmon@example.com",
        "OTELMON_ALERT_RECIPIENTS": TEAM,
        "OTELMON_ALERT_GROUP_WAIT_SECONDS": "0.3",
        "OTELMON_ALERT_BACKOFF_INITIAL_SECONDS": "0.2",
        "OTELMON_ALERT_BACKOFF_MAX_SECONDS": "1",
        "OTELMON_ALERT_POLL_SECONDS": "0.2",
        "OTELMON_GRAFANA_URL": "http://grafana.example:3000",
    }


@pytest.fixture
def alert_api(start_api: Callable[..., ApiServer], alert_env: dict[str, str]) -> ApiServer:
    return start_api(alert_env)


def alert_state(api: ApiServer, headers: dict[str, str] | None = None) -> dict:
    response = httpx.get(f"{api.url}/api/v1/alerts", params={"limit": 500}, headers=headers, timeout=10)
    return response.raise_for_status().json()


def quiescent(api: ApiServer, timeout: float = 30) -> dict:
    """Everything stored has been dispatched and every alert has reached sent or failed."""

    def settled():
        state = alert_state(api)
        outbox, alerts = state["outbox_by_state"], state["alerts_by_state"]
        busy = outbox.get("new", 0) + outbox.get("held", 0) + alerts.get("pending", 0) + alerts.get("sending", 0)
        return state if busy == 0 and state["outbox_by_state"] else None

    return wait_until(settled, timeout, what="alerts to settle")


def open_db(url: str, **settings):
    """A migrated database for driving the alert pipeline in this process: (engine, tables, settings)."""
    settings = Settings(**{"database_url": url, "smtp_mail_from": "otelmon@example.com",
                           "alert_storm_cap_per_minute": 1000, **settings})
    engine = create_db_engine(settings)
    migrate(engine)
    return engine, Tables.reflect(engine), settings
