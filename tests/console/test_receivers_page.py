"""The receivers page: each receiver's integrations (secrets masked) and the routes to it; "Send test" sends
one test message through each integration of a receiver and shows each result; without a receivers file, the
legacy recipients and how to configure more."""

from __future__ import annotations

import re

import httpx
import pytest
import yaml

from tests.console.conftest import TOKEN, log_in
from tests.harness.vendors.webhook import AlertmanagerReceiver

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

HOOK_PATH = "/hooks/5e1f0c9a7b3d42e8a6c1f0d9e8b7a6c5"
HOOK_SECRET = "hmac-secret-9f8e7d6c5b4a"


@pytest.fixture
def hook():
    with AlertmanagerReceiver(path=HOOK_PATH, secret=HOOK_SECRET) as receiver:
        yield receiver


@pytest.fixture
def with_receivers(tmp_path, console_env, hook):
    """Two receivers on the loopback stand-in: one right, one whose URL's path the receiver does not know."""
    config = tmp_path / "notify.yaml"
    config.write_text(yaml.safe_dump({
        "receivers": [
            {"name": "data-team", "webhook": [{"url": "${HOOK_URL}", "secret": "${HOOK_SECRET}"}]},
            {"name": "billing", "webhook": [{"url": "${STALE_HOOK_URL}"}]},
        ],
        "routes": [{"match": {"platform": "airflow", "group": "billing_*"}, "receiver": "billing",
                    "repeat_interval": "2h", "storm_cap_per_minute": 7, "send_resolved": False, "continue": True}],
        "default_receiver": "data-team",
    }))
    console_env.update({"OTELMON_NOTIFY_CONFIG": str(config), "HOOK_URL": hook.hook_url, "HOOK_SECRET": HOOK_SECRET,
                        "STALE_HOOK_URL": f"{hook.url}/hooks/deleted-0a1b2c3d4e5f"})
    return console_env


def test_receivers_show_masked_integrations_and_their_routes(browser, with_receivers, console):
    page = log_in(browser, console, "/console/receivers")
    html = page.content()
    for secret in (HOOK_SECRET, HOOK_PATH, "deleted-0a1b2c3d4e5f"):
        assert secret not in html
    team = page.get_by_role("region", name="data-team")
    assert "webhook[0]" in team.inner_text() and team.inner_text().count("**********") == 2  # url and secret
    assert re.search(r"default\s+any alert no route matched", team.inner_text())
    billing = page.get_by_role("region", name="billing")
    route = billing.get_by_role("row").filter(has_text="routes[0]").inner_text()
    assert "platform=airflow" in route and "group=billing_*" in route
    assert "2 h 00 min" in route and "7 / min" in route
    assert re.search(r"min\s+no\s+yes$", route.strip())  # send resolved: no; continue: yes


def test_send_test_delivers_once_and_shows_each_result(browser, with_receivers, console, hook):
    page = log_in(browser, console, "/console/receivers")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_role("region", name="data-team").get_by_role("button", name="Send test").click()
    assert answer.value.status == 200 and answer.value.headers["cache-control"] == "no-store"
    row = page.get_by_role("row").filter(has_text="webhook[0]")
    assert row.get_by_text("delivered", exact=True).is_visible()
    assert "Delivered through every integration" in page.get_by_role("status").inner_text()
    assert len(hook.requests) == 1 and len(hook.messages) == 1  # signed and in Alertmanager's format
    assert "test message" in str(hook.messages[0]).lower()
    page.get_by_role("link", name="Back to the receivers").click()
    page.wait_for_url("**/console/receivers")
    assert len(hook.requests) == 1


def test_a_failing_channel_shows_its_failure(browser, with_receivers, console, hook):
    page = log_in(browser, console, "/console/receivers")
    page.get_by_role("region", name="billing").get_by_role("button", name="Send test").click()
    row = page.get_by_role("row").filter(has_text="webhook[0]")
    assert row.get_by_text("failed", exact=True).is_visible()
    detail = row.inner_text()
    assert "HTTP 404 from 127.0.0.1" in detail and "Cannot POST" in detail  # the receiver's own answer ...
    assert "deleted-0a1b2c3d4e5f" not in page.content()  # ... without the URL's secret path
    assert "1 of 1 integration(s) did not deliver" in page.get_by_role("status").inner_text()
    assert [r.path for r in hook.requests] == ["/hooks/deleted-0a1b2c3d4e5f"]


def _logged_in(client: httpx.Client) -> str:
    """Log an HTTP client in through the form; the CSRF token of its session."""
    login = client.get("/console/login")
    csrf = login.text.split('name="csrf" value="')[1].split('"')[0]
    client.post("/console/login", data={"csrf": csrf, "token": TOKEN, "next": "/console/receivers"})
    page = client.get("/console/receivers")
    assert page.status_code == 200
    return page.text.split('name="csrf" value="')[1].split('"')[0]


def test_an_unknown_receiver_is_a_404_and_a_test_needs_the_csrf_token(with_receivers, console, hook):
    with httpx.Client(base_url=console.url) as client:
        csrf = _logged_in(client)
        unknown = client.post("/console/receivers/nobody/test", data={"csrf": csrf})
        assert unknown.status_code == 404 and "no receiver named &#39;nobody&#39;" in unknown.text
        forged = client.post("/console/receivers/data-team/test", data={"csrf": "forged"})
        assert forged.status_code == 403
        without = client.post("/console/receivers/data-team/test", data={"receiver": "data-team"})
        assert without.status_code == 403
        elsewhere = client.post("/console/receivers/data-team/test", data={"csrf": csrf},
                                headers={"Origin": "https://evil.example"})
        assert elsewhere.status_code == 403
    assert hook.requests == []


def test_without_a_receivers_file_the_legacy_recipients_are_shown(browser, start_api, console_env):
    api = start_api({**console_env, "OTELMON_ALERT_RECIPIENTS": "oncall@example.com"})
    page = log_in(browser, api, "/console/receivers")
    main = page.get_by_role("main").inner_text()
    assert "No receivers file is configured (OTELMON_NOTIFY_CONFIG)" in main
    assert "README.md#receivers-and-routes" in main
    default = page.get_by_role("region", name="default")
    assert "email[0]" in default.inner_text() and "oncall@example.com" in default.inner_text()
