"""The console in a real browser: ``otelmon serve`` with a token, failures from the OTel SDK's own OTLP
exporter, and Debian's Chromium driven by Playwright (tests/harness/browser.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult
from playwright.sync_api import Browser, Page, sync_playwright

from tests.harness.api_server import ApiServer
from tests.harness.browser import launch
from tests.harness.spans import SpanFactory

TOKEN = "console-test-token"


# Package-scoped: Playwright's sync API keeps an event loop running while it is open, and tests of other
# packages run after these in the same process call asyncio.run().
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


@pytest.fixture
def console_env(database_url: str) -> dict[str, str]:
    """Settings of the console's server; a test adds its own (alerts, receivers) before ``console`` starts it."""
    return {"OTELMON_DATABASE_URL": database_url, "OTELMON_INGEST_TOKEN": TOKEN, "OTELMON_ALERTS_ENABLED": "false"}


@pytest.fixture
def console(start_api: Callable[..., ApiServer], console_env: dict[str, str]) -> ApiServer:
    return start_api(console_env)


def pipeline(process: str, group: str = "daily_sales", run: str = "run-1", try_number: int = 1,
             platform: str = "airflow", **more) -> dict:
    return {"otelmon.platform": platform, "otelmon.group": group, "otelmon.process": process,
            "otelmon.run_id": run, "otelmon.try_number": try_number, **more}


def export_failure(api: ApiServer, process: str, exc: BaseException | None = None, **attributes) -> None:
    """One failing task span, sent as a pipeline's instrumentation sends it (OTLP/HTTP protobuf)."""
    spans = SpanFactory(service=attributes.pop("service", "airflow"))
    spans.failing(process, pipeline(process, **attributes), exc=exc)
    export_spans(api, spans)


def export_failures(api: ApiServer, count: int) -> None:
    """``count`` failing steps of one DAG (``step_000``, ``step_001``, ...), in one export."""
    spans = SpanFactory(service="airflow")
    for n in range(count):
        spans.failing(f"step_{n:03d}", pipeline(f"step_{n:03d}", run=f"run-{n}"))
    export_spans(api, spans)


def export_spans(api: ApiServer, spans: SpanFactory) -> None:
    exporter = OTLPSpanExporter(endpoint=f"{api.url}/v1/traces", timeout=10,
                                headers={"Authorization": f"Bearer {TOKEN}"})
    assert exporter.export(spans.take()) == SpanExportResult.SUCCESS


def log_in(browser: Browser, api: ApiServer, path: str = "/console/") -> Page:
    """A new browser context (its own cookies) logged in through the login form, on ``path``."""
    page = browser.new_context(base_url=api.url).new_page()
    page.goto(path)
    page.get_by_label("Token").fill(TOKEN)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"**{path}")
    return page


AUTH = {"Authorization": f"Bearer {TOKEN}"}
TEAM = "data-team@example.com"


def with_alerts(env: dict[str, str], smtp_port: int, **more: str) -> dict[str, str]:
    """``env`` with alerts on, emailed to TEAM through the SMTP server at ``smtp_port``, sent without delay."""
    return {**env, "OTELMON_ALERTS_ENABLED": "true", "OTELMON_SMTP_HOST": "127.0.0.1",
            "OTELMON_SMTP_PORT": str(smtp_port), "OTELMON_SMTP_MAIL_FROM": "otelmon@example.com",
            "OTELMON_ALERT_RECIPIENTS": TEAM, "OTELMON_ALERT_GROUP_WAIT_SECONDS": "0",
            "OTELMON_ALERT_POLL_SECONDS": "0.2", "OTELMON_ALERT_BACKOFF_INITIAL_SECONDS": "0.2",
            "OTELMON_ALERT_BACKOFF_MAX_SECONDS": "1", **more}


def api_get(api: ApiServer, path: str, **params) -> dict:
    """A JSON answer of the API, with the token."""
    return httpx.get(f"{api.url}{path}", params=params, headers=AUTH, timeout=10).raise_for_status().json()
