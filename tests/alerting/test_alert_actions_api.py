"""Through ``otelmon serve`` (both databases) and aiosmtpd: an alert with nowhere to go waits visibly and
goes once recipients are configured; resend and cancel over HTTP."""

from __future__ import annotations

import httpx
import pytest

from tests.alerting.conftest import TEAM
from tests.harness.waiting import wait_until

TOKEN = "alerts-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def env(database_url, smtp_sink) -> dict[str, str]:
    return {
        "OTELMON_DATABASE_URL": database_url,
        "OTELMON_INGEST_TOKEN": TOKEN,
        "OTELMON_SMTP_HOST": "127.0.0.1",
        "OTELMON_SMTP_PORT": str(smtp_sink.port),
        "OTELMON_SMTP_MAIL_FROM": "otelmon@example.com",
        "OTELMON_ALERT_GROUP_WAIT_SECONDS": "0.1",
        "OTELMON_ALERT_BACKOFF_INITIAL_SECONDS": "0.2",
        "OTELMON_ALERT_BACKOFF_MAX_SECONDS": "1",
        "OTELMON_ALERT_POLL_SECONDS": "0.2",
    }


def report(api, group: str, process: str) -> None:
    body = {"platform": "airflow", "group": group, "process": process, "run_id": f"{group}-{process}",
            "error_type": "ValueError", "error_message": "bad row"}
    response = httpx.post(f"{api.url}/api/v1/process-failure", json=body, headers=AUTH, timeout=10)
    assert response.status_code == 201, response.text


def alerts(api) -> dict[int, dict]:
    response = httpx.get(f"{api.url}/api/v1/alerts", headers=AUTH, timeout=10).raise_for_status()
    return {item["id"]: item for item in response.json()["items"]}


def in_state(api, alert_id: int, state: str) -> dict | None:
    item = alerts(api).get(alert_id)
    return item if item and item["state"] == state else None


def act(api, alert_id: int, action: str, headers: dict | None = AUTH) -> httpx.Response:
    return httpx.post(f"{api.url}/api/v1/alerts/{alert_id}/{action}", headers=headers, timeout=10)


def test_an_alert_with_no_recipients_waits_then_is_sent_after_a_restart_with_recipients(start_api, env, smtp_sink):
    first = start_api(env)
    ready = httpx.get(f"{first.url}/readyz", timeout=10)
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"
    assert any(w.startswith("no alert recipients configured") for w in ready.json()["warnings"])
    assert "WARNING otelmon.alerting.worker: no alert recipients configured" in first.logs()

    report(first, "billing", "charge")
    report(first, "sales", "load")
    waiting = wait_until(lambda: in_state(first, 1, "unroutable"), what="alert 1 unroutable")
    assert waiting["attempts"] == 0 and waiting["recipients"] == []
    assert waiting["last_error"] == ("no recipients: set OTELMON_ALERT_RECIPIENTS or a route for airflow/billing"
                                     " (OTELMON_ALERT_ROUTES)")
    wait_until(lambda: in_state(first, 2, "unroutable"), what="alert 2 unroutable")
    assert act(first, 2, "cancel").json()["state"] == "cancelled"
    page = httpx.get(f"{first.url}/api/v1/alerts", params={"state": "unroutable"}, headers=AUTH, timeout=10).json()
    assert [i["id"] for i in page["items"]] == [1] and page["alerts_by_state"] == {"unroutable": 1, "cancelled": 1}
    assert alerts(first)[1]["attempts"] == 0  # not retried meanwhile
    assert smtp_sink.received == []
    first.stop()

    second = start_api({**env, "OTELMON_ALERT_RECIPIENTS": TEAM})
    (got,) = smtp_sink.wait_for(1)
    assert got.rcpt_tos == [TEAM] and got.message["Subject"] == "[OtelMon] FAILED airflow / billing / charge"
    item = wait_until(lambda: in_state(second, 1, "sent"), what="alert 1 recorded as sent")
    assert item["recipients"] == [TEAM] and item["attempts"] == 1 and item["last_error"] is None
    assert item["message_id"] == got.message["Message-ID"]
    assert alerts(second)[2]["state"] == "cancelled" and len(smtp_sink.received) == 1  # never sent
    assert "warnings" not in httpx.get(f"{second.url}/readyz", timeout=10).json()


def test_resend_and_cancel_over_http(start_api, env, smtp_sink):
    api = start_api({**env, "OTELMON_ALERT_RECIPIENTS": TEAM, "OTELMON_ALERT_MAX_ATTEMPTS": "1"})
    report(api, "billing", "charge")
    (first,) = smtp_sink.wait_for(1)
    wait_until(lambda: in_state(api, 1, "sent"), what="alert 1 sent")

    assert act(api, 1, "resend", headers=None).status_code == 401
    for action in ("resend", "cancel"):
        missing = act(api, 999, action)
        assert missing.status_code == 404 and missing.json()["detail"] == "alert 999 does not exist"
    refused = act(api, 1, "cancel")
    assert refused.status_code == 409
    assert refused.json()["detail"] == "cannot cancel alert 1: it was already sent (to send it again, resend it)"

    resent = act(api, 1, "resend")
    assert resent.status_code == 200 and resent.json()["attempts"] == 0
    again = smtp_sink.wait_for(2)[1]
    assert again.message["Message-ID"] == first.message["Message-ID"]
    wait_until(lambda: in_state(api, 1, "sent"), what="alert 1 sent again")

    # SMTP down: with one try allowed, the next alert fails for good; cancelled, it is never sent.
    smtp_sink.stop()
    report(api, "sales", "load")
    wait_until(lambda: in_state(api, 2, "failed"), what="alert 2 failed")
    assert act(api, 2, "cancel").json()["state"] == "cancelled"
    assert act(api, 2, "cancel").json()["detail"] == "cannot cancel alert 2: it is already cancelled"
    smtp_sink.start()
    act(api, 1, "resend")
    smtp_sink.wait_for(3)
    wait_until(lambda: in_state(api, 1, "sent"), what="alert 1 sent a third time")
    assert [r.message["Message-ID"] for r in smtp_sink.received] == [first.message["Message-ID"]] * 3

    revived = act(api, 2, "resend")
    assert revived.status_code == 200 and revived.json()["state"] == "pending"
    fourth = smtp_sink.wait_for(4)[3]
    assert fourth.message["Subject"] == "[OtelMon] FAILED airflow / sales / load"
    assert fourth.message["Message-ID"] != first.message["Message-ID"]
    assert httpx.get(f"{api.url}/api/v1/alerts", params={"state": "bogus"}, headers=AUTH).status_code == 422
