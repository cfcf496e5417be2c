"""Alerts in the console, in a real browser against ``otelmon serve``: an alert that failed (SMTP down, one try
allowed) shows as failed with its delivery's error; resent from the console once the server is up, it arrives.
Cancelled from the console, an alert is never sent; what its state forbids is refused and changes nothing."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.console.conftest import TEAM, api_get, export_failure, log_in, with_alerts
from tests.harness.ports import free_port
from tests.harness.smtp import SmtpSink
from tests.harness.waiting import wait_until

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def smtp_port() -> int:
    return free_port()  # nothing listens there until a test starts its SMTP server


@pytest.fixture
def console_env(console_env, smtp_port):
    return with_alerts(console_env, smtp_port, OTELMON_ALERT_MAX_ATTEMPTS="1")


@pytest.fixture
def smtp_later(smtp_port):
    sink = SmtpSink(smtp_port)
    yield sink
    sink.stop()


def alert(api, alert_id: int) -> dict | None:
    return next((a for a in api_get(api, "/api/v1/alerts")["items"] if a["id"] == alert_id), None)


def in_state(api, alert_id: int, state: str) -> dict:
    def check():
        found = alert(api, alert_id)
        return found if found and found["state"] == state else None

    return wait_until(check, what=f"alert {alert_id} {state}")


def post_form(page: Page, path: str):
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    return page.request.post(path, form={"csrf": csrf}, max_redirects=0)


def test_resend_a_failed_alert_and_cancel_another(browser, console, smtp_later):
    export_failure(console, "load", exc=ValueError("bad row"), group="billing_daily", run="run-1")
    failed = in_state(console, 1, "failed")
    (delivery,) = failed["deliveries"]
    assert delivery["state"] == "failed" and delivery["last_error"]
    export_failure(console, "extract", exc=KeyError("customer_id"), group="sales", run="run-1")
    in_state(console, 2, "failed")

    page = log_in(browser, console, "/console/alerts")
    first = page.locator("#alert-1")
    expect(first.locator(".badge").first).to_have_text("failed")
    expect(first).to_contain_text("airflow / billing_daily / load ValueError")  # no subject until rendered
    deliveries = page.get_by_role("table", name="Deliveries of alert 1")
    expect(deliveries).to_contain_text(delivery["receiver"])
    expect(deliveries).to_contain_text("email")
    expect(deliveries).to_contain_text(delivery["last_error"])
    expect(page.get_by_role("list", name="Alerts by state")).to_contain_text("failed 2")

    page.get_by_role("button", name="Cancel alert 2").click()
    page.wait_for_url("**/console/alerts?done=cancelled&id=2")
    expect(page.get_by_role("status")).to_have_text("Alert #2 cancelled: it will not be sent.")
    expect(page.locator("#alert-2 .badge").first).to_have_text("cancelled")
    expect(page.get_by_role("button", name="Cancel alert 2")).to_have_count(0)
    assert alert(console, 2)["state"] == "cancelled"
    again = post_form(page, "/console/alerts/2/cancel")
    assert again.status == 409
    assert "Cannot cancel alert 2: it is already cancelled. Nothing was changed." in again.text()
    missing = post_form(page, "/console/alerts/999/resend")
    assert missing.status == 404 and "Alert 999 does not exist. Nothing was changed." in missing.text()

    smtp_later.start()
    page.get_by_role("button", name="Resend alert 1").click()
    page.wait_for_url("**/console/alerts?done=resent&id=1")
    expect(page.get_by_role("status")).to_have_text("Alert #1 is queued to be sent again.")
    (got,) = smtp_later.wait_for(1)
    assert got.rcpt_tos == [TEAM] and got.message["Subject"] == "[OtelMon] FAILED airflow / billing_daily / load"
    sent = in_state(console, 1, "sent")
    assert sent["deliveries"][0]["state"] == "sent"

    page.get_by_role("link", name="1", exact=True).click()
    page.wait_for_url("**/console/alerts/1")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Alert #1")
    expect(page.get_by_role("heading", level=1).locator(".badge")).to_have_text("sent")
    expect(page.locator("dl.facts")).to_contain_text(got.message["Message-ID"].strip("<>"))
    expect(page.get_by_role("table", name="Deliveries of alert 1")).to_contain_text("sent")
    expect(page.get_by_role("button", name="Cancel alert 1")).to_have_count(0)  # sent: only resend
    page.goto("/console/alerts?state=cancelled")
    expect(page.locator("tbody[id^=alert-]")).to_have_count(1)
    expect(page.locator("#alert-2")).to_be_visible()
    assert len(smtp_later.received) == 1  # the cancelled alert was never sent
    page.goto("/console/alerts?limit=1")
    expect(page.locator("tbody[id^=alert-]")).to_have_count(1)
    expect(page.locator("#alert-2")).to_be_visible()
    page.get_by_role("link", name="Older alerts").click()
    expect(page.locator("#alert-1")).to_be_visible()
    expect(page.locator("tbody[id^=alert-]")).to_have_count(1)
    assert page.request.get("/console/alerts?state=bogus").status == 422
    assert page.request.get("/console/alerts/999").status == 404
