"""The console's home page: open issues by state, the last day's failures, alerts by state with those that
need a person (failed, unroutable) marked and linked, silences in effect, and the ways to /docs and Grafana."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.console.conftest import TOKEN, export_failure, log_in
from tests.harness.waiting import wait_until

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def test_the_overview_counts_issues_failures_alerts_and_silences(browser, start_api, console_env):
    # Alerts on, no recipient anywhere: every alert waits as unroutable, one that needs a person.
    api = start_api({**console_env, "OTELMON_ALERTS_ENABLED": "true", "OTELMON_ALERT_GROUP_WAIT_SECONDS": "0.1",
                     "OTELMON_GRAFANA_URL": "http://grafana.example:3000"})
    export_failure(api, "extract_orders", group="daily_sales")
    export_failure(api, "load_ledger", group="billing_daily")
    with httpx.Client(base_url=api.url, headers=AUTH, timeout=10) as client:
        counts = wait_until(lambda: (c := client.get("/api/v1/alerts").json()["alerts_by_state"]).get("unroutable")
                            == 2 and c, what="two unroutable alerts")
        assert client.post("/api/v1/silences", json={"matchers": {"group": "billing_*"}, "for": "2h",
                                                     "comment": "migration", "author": "ops"}).status_code == 201

    page = log_in(browser, api, "/console/")
    issues = page.get_by_role("region", name="Open issues").inner_text()
    assert re.search(r"^2\s+new 2\s+ongoing 0\s+regressed 0$", issues.split("\n", 1)[1].strip())
    assert "2" == page.get_by_role("region", name="Failures, last 24 h").locator(".count").inner_text()
    alerts = page.get_by_role("region", name="Alerts")
    assert "alarm" in alerts.get_attribute("class")
    unroutable = alerts.get_by_role("link", name="unroutable 2")
    assert unroutable.get_attribute("href") == "/console/alerts?state=unroutable"
    assert "bad" in unroutable.locator("xpath=..").get_attribute("class")
    failed = alerts.get_by_role("link", name="failed 0")
    assert failed.get_attribute("href") == "/console/alerts?state=failed"
    assert "bad" not in failed.locator("xpath=..").get_attribute("class")
    assert counts == {"unroutable": 2}
    assert "1" == page.get_by_role("region", name="Silences in effect").locator(".count").inner_text()
    assert page.get_by_role("link", name="API documentation").get_attribute("href") == "/docs"
    assert page.get_by_role("link", name="Grafana").get_attribute("href") == "http://grafana.example:3000"
