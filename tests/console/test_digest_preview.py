"""The next digest in the console: what ``otelmon digest`` would send now, by the digest's own selection and
composition, its HTML framed from a sandboxed route; looking at it changes nothing in the database."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import create_engine, inspect, text

from tests.console.conftest import export_failure, log_in

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

HOSTILE = '<img src=x onerror="alert(1)">'


def everything(database_url: str) -> dict[str, list]:
    """Every row of every table, to tell that reading changed nothing (no digest row, no claim, no id)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return {table: [tuple(row) for row in conn.execute(text(f'SELECT * FROM "{table}" ORDER BY 1'))]
                    for table in inspect(conn).get_table_names()}
    finally:
        engine.dispose()


@pytest.fixture
def digest_env(console_env):
    console_env.update({"OTELMON_DIGEST_RECIPIENTS": "digest@example.com", "OTELMON_DIGEST_WINDOW_HOURS": "6"})
    return console_env


def test_the_preview_shows_the_next_digest_and_changes_nothing(browser, digest_env, console, database_url):
    export_failure(console, "extract_orders", exc=ValueError(f"bad row {HOSTILE}"))
    export_failure(console, "load_orders", run="run-2")
    export_failure(console, "sync_ledger", group="billing_daily", platform="nifi", service="nifi")
    page = log_in(browser, console, "/console/")  # the console's first page creates its signing key
    before = everything(database_url)
    assert before["failures"] and before["digests"] == []

    refused = []
    page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text
            else None)
    page.goto("/console/digest")
    facts = page.locator("dl.facts").inner_text()
    assert re.search(r"New failures\s+3 in 2 pipeline\(s\)", facts)
    assert re.search(r"Recipients\s+digest@example.com", facts)
    assert re.search(r"Window\s+\d{4}-\d\d-\d\d .* UTC → .* UTC \(last 6 h\)", facts)
    assert re.search(r"Platforms\s+airflow \(2\), nifi \(1\)", facts)
    assert re.search(r"Recovered after retry\s+0", facts)
    assert re.search(r"Digest\s+#1: \[OtelMon\] Digest: 3 new failures in 2 groups", facts)

    frame = page.locator("iframe.preview")
    assert frame.get_attribute("sandbox") == "" and frame.get_attribute("src") == "/console/digest/preview.html"
    email = page.frame_locator("iframe.preview")
    for name in ("extract_orders", "load_orders", "sync_ledger", HOSTILE):
        assert email.get_by_text(name).first.is_visible()  # the hostile message shown as text, not as markup
    assert refused == []  # the page and its framed email load within their policies

    answer = page.request.get("/console/digest/preview.html")
    assert answer.status == 200
    headers = answer.headers
    assert headers["content-security-policy"] == \
        "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    assert headers["x-frame-options"] == "SAMEORIGIN" and headers["cache-control"] == "no-store"
    body = answer.text()
    assert body.lstrip().lower().startswith("<!doctype html") and HOSTILE not in body
    assert "&lt;img src=x" in body

    page.reload()
    assert everything(database_url) == before  # no digest row, no failure claimed, nothing else either


def test_with_nothing_new_the_preview_says_no_email(browser, digest_env, console):
    page = log_in(browser, console, "/console/digest")
    assert "No new failures in the last 6 h" in page.get_by_role("main").inner_text()
    assert page.locator("iframe").count() == 0
    assert page.request.get("/console/digest/preview.html").status == 404


def test_the_preview_route_needs_a_session(digest_env, console):
    import httpx

    answer = httpx.get(f"{console.url}/console/digest/preview.html")
    assert answer.status_code == 303 and "/console/login" in answer.headers["location"]
