"""Screenshots of the console's pages for the README (docs/console-*.png), from a real ``otelmon serve``.

    PYTHONPATH=$PWD .venv/bin/python docs/render_console.py

The API runs on a throw-away SQLite file with a token, a receivers file (email to an address where nothing
listens, so one alert fails and shows its error) and failures sent by the OpenTelemetry SDK's own OTLP
exporter: a task that failed twice, one that recovered after a retry, a NiFi processor. Debian's Chromium,
driven by Playwright, logs in and takes each page at 1280 px wide.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

from tests.console.conftest import TOKEN, export_failure
from tests.harness.api_server import ApiServer
from tests.harness.browser import launch
from tests.harness.ports import free_port
from tests.harness.waiting import wait_until

DOCS = Path(__file__).resolve().parent
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def sample_data(api: ApiServer) -> dict:
    export_failure(api, "load_orders", exc=ConnectionError("could not connect to server: Connection refused\n"
                                                           "\tIs the server running on host \"dwh\" (10.0.4.7)?"),
                   group="daily_sales", run="scheduled__2026-12-01T02:00:00+00:00", try_number=1,
                   **{"otelmon.will_retry": True})
    export_failure(api, "load_orders", exc=ConnectionError("could not connect to server: Connection refused"),
                   group="daily_sales", run="scheduled__2026-12-01T02:00:00+00:00", try_number=2)
    export_failure(api, "transform_invoices", exc=KeyError("customer_id"), group="billing_daily",
                   run="manual__2026-12-01T08:14:03+00:00")
    export_failure(api, "PutDatabaseRecord", exc=TimeoutError("Timed out after 30000 ms waiting for a connection"),
                   platform="nifi", group="ingest-clickstream", run="flowfile-7c1e")
    failures = httpx.get(f"{api.url}/api/v1/failures", headers=AUTH).json()["items"]
    httpx.post(f"{api.url}/api/v1/silences", headers=AUTH, json={
        "matchers": {"platform": "nifi", "group": "ingest-*"}, "for": "24h", "author": "maria",
        "comment": "Warehouse maintenance until tomorrow 06:00"}).raise_for_status()
    wait_until(lambda: any(a["state"] == "failed" for a in
                           httpx.get(f"{api.url}/api/v1/alerts", headers=AUTH).json()["items"]), 60,
               what="an alert to fail")
    return {"failure": next(f for f in failures if f["process"] == "load_orders"),
            "fingerprint": failures[0]["fingerprint"]}


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        receivers = Path(folder) / "notify.yaml"
        receivers.write_text("receivers:\n  - name: data-team\n    email: [data-team@example.com]\n"
                             "default_receiver: data-team\n", encoding="utf-8")
        api = ApiServer({"OTELMON_DATABASE_URL": f"sqlite:///{folder}/otelmon.db", "OTELMON_INGEST_TOKEN": TOKEN,
                         "OTELMON_NOTIFY_CONFIG": str(receivers), "OTELMON_SMTP_HOST": "127.0.0.1",
                         "OTELMON_SMTP_PORT": str(free_port()), "OTELMON_ALERT_MAX_ATTEMPTS": "1",
                         "OTELMON_ALERT_GROUP_WAIT_SECONDS": "0.2", "OTELMON_ALERT_POLL_SECONDS": "0.2"}).start()
        try:
            found = sample_data(api)
            pages = {
                "overview": "/console/",
                "issues": "/console/issues",
                "failure": f"/console/failures/{found['failure']['id']}",
                "issue": f"/console/issues/{found['failure']['fingerprint']}",
                "silence-new": "/console/silences/new?group=daily_sales&process=load_*",
                "silences": "/console/silences",
                "alerts": "/console/alerts",
                "receivers": "/console/receivers",
                "digest": "/console/digest",
            }
            with sync_playwright() as playwright:
                browser = launch(playwright)
                page = browser.new_context(base_url=api.url, viewport={"width": 1280, "height": 800}).new_page()
                page.goto("/console/login")
                page.get_by_label("Token").fill(TOKEN)
                page.get_by_role("button", name="Log in").click()
                page.wait_for_url("**/console/")
                for name, path in (pages.items() if len(sys.argv) < 2 else
                                   [(n, pages[n]) for n in sys.argv[1:]]):
                    page.goto(path)
                    page.wait_for_load_state("networkidle")
                    page.screenshot(path=str(DOCS / f"console-{name}.png"), full_page=True)
                    print(f"docs/console-{name}.png")
                browser.close()
        finally:
            api.stop()


if __name__ == "__main__":
    main()
