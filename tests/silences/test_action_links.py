"""Signed action links through a real ``otelmon serve`` (both databases): the GET only shows a confirmation page
(the database is left exactly as it was), the POST acts once, tampered, foreign, expired and cross-site uses are
refused and change nothing."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import MetaData, select

from otelmon.actions.links import action_links
from otelmon.actions.tokens import MUTE, sign
from otelmon.clock import utcnow
from otelmon.config import Settings
from otelmon.storage.database import create_db_engine
from otelmon.storage.secret_key import ensure_secret_key
from tests.harness.waiting import wait_until


@pytest.fixture
def served(start_api, database_url):
    server = start_api({"OTELMON_DATABASE_URL": database_url, "OTELMON_ALERT_GROUP_WAIT_SECONDS": "0",
                        "OTELMON_ALERT_POLL_SECONDS": "0.2"})
    settings = Settings(database_url=database_url, public_url=server.url)
    engine = create_db_engine(settings)
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client, engine, settings
    engine.dispose()


def snapshot(engine) -> dict[str, list]:
    """Every row of every table."""
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as conn:
        return {name: sorted(map(tuple, conn.execute(select(t))), key=repr) for name, t in metadata.tables.items()}


def alerted_fingerprint(client: httpx.Client, group: str) -> str:
    """Report a failure and wait for its alert (no recipients: it waits, unroutable, which is enough here)."""
    body = {"platform": "airflow", "group": group, "process": "load", "run_id": "r1", "error_type": "ValueError",
            "error_message": "<script>alert(1)</script>"}
    assert client.post("/api/v1/process-failure", json=body).status_code == 201
    items = wait_until(lambda: client.get("/api/v1/alerts").json()["items"], timeout=20, what="the alert")
    return items[0]["fingerprint"]


def silences(client: httpx.Client) -> list[dict]:
    return client.get("/api/v1/silences", params={"state": "all"}).json()["items"]


def path(url: str, client: httpx.Client) -> str:
    return url.removeprefix(str(client.base_url).rstrip("/"))


def test_get_shows_a_page_and_changes_nothing_post_acts_once(served):
    client, engine, settings = served
    fingerprint = alerted_fingerprint(client, "<b>billing</b>")
    links = action_links(settings, ensure_secret_key(engine, settings), fingerprint)
    mute, ack = path(links["mute"], client), path(links["ack"], client)
    assert mute.startswith("/actions/") and ack.startswith("/actions/")

    before = snapshot(engine)
    page = client.get(mute)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<form method="post">' in html and "Mute this failure for 24 hours" in html and fingerprint in html
    assert "&lt;b&gt;billing&lt;/b&gt;" in html and "<b>billing" not in html  # everything escaped
    assert "&lt;script&gt;" in html and "<script>" not in html
    assert page.headers["cache-control"] == "no-store" and page.headers["referrer-policy"] == "same-origin"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert client.get(ack).status_code == 200 and client.head(mute).status_code in (200, 405)
    assert snapshot(engine) == before  # a mail scanner opening the links changes nothing

    done = client.post(mute)
    assert done.status_code == 200 and "Done" in done.text and "Muted until" in done.text
    (made,) = silences(client)
    assert made["matchers"] == {"fingerprint": fingerprint} and made["kind"] == "silence"
    span = (made["ends_at"], made["starts_at"])
    assert made["author"] == "alert action link"
    again = client.post(mute)
    assert again.status_code == 200 and "Already done" in again.text and f"silence #{made['id']}" in again.text
    assert len(silences(client)) == 1 and (silences(client)[0]["ends_at"], silences(client)[0]["starts_at"]) == span
    seen = client.get(mute)
    assert "Already done" in seen.text and "<form" not in seen.text

    acked = client.post(ack)
    assert acked.status_code == 200 and "Acknowledged" in acked.text
    assert client.post(ack).text.count("Already done") >= 1
    # Another alert's ack link for the same issue finds the acknowledgement in effect.
    other = path(action_links(settings, ensure_secret_key(engine, settings), fingerprint,
                              now=utcnow() + timedelta(seconds=5))["ack"], client)
    assert "Already acknowledged" in client.get(other).text
    assert "Already done" in client.post(other).text
    kinds = sorted(s["kind"] for s in silences(client))
    assert kinds == ["ack", "silence"]


def test_tampered_foreign_expired_and_cross_site_uses_are_refused(served):
    client, engine, settings = served
    fingerprint = "0123456789abcdef"
    before = snapshot(engine)
    forged = "/actions/" + sign(b"not this installation's key", MUTE, fingerprint, utcnow() + timedelta(days=1))
    # No key yet in the database: nothing can be valid, and checking creates none.
    for method in (client.get, client.post):
        response = method(forged)
        assert response.status_code == 400 and "not valid" in response.text
    assert snapshot(engine) == before

    secret = ensure_secret_key(engine, settings)
    mute = path(action_links(settings, secret, fingerprint)["mute"], client)
    payload, signature = mute.removeprefix("/actions/").split(".")
    tampered = f"/actions/{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{signature}"
    expired = "/actions/" + sign(secret, MUTE, fingerprint, utcnow() - timedelta(seconds=1))
    for method in (client.get, client.post):
        assert method(tampered).status_code == 400
        assert method(forged).status_code == 400
        gone = method(expired)
        assert gone.status_code == 410 and "expired" in gone.text
    assert client.get("/actions/nonsense").status_code == 400
    for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}, {"Origin": "null"}):
        refused = client.post(mute, headers=headers)
        assert refused.status_code == 403
    assert silences(client) == []
    # The page's own form: same origin.
    same = client.post(mute, headers={"Origin": str(client.base_url).rstrip("/"), "Sec-Fetch-Site": "same-origin"})
    assert same.status_code == 200 and len(silences(client)) == 1


def test_the_setting_key_signs_instead_of_the_database_one(start_api, tmp_path):
    url = f"sqlite:///{tmp_path / 'o.db'}"
    server = start_api({"OTELMON_DATABASE_URL": url, "OTELMON_SECRET_KEY": "configured-key",
                        "OTELMON_ALERTS_ENABLED": "false"})
    settings = Settings(database_url=url, public_url=server.url, secret_key="configured-key")
    engine = create_db_engine(settings)
    try:
        assert ensure_secret_key(engine, settings) == b"configured-key"
        good = action_links(settings, b"configured-key", "0123456789abcdef")["ack"]
        stored = ensure_secret_key(engine, Settings(database_url=url))  # the database's own, now created
        other = action_links(settings, stored, "0123456789abcdef")["ack"]
    finally:
        engine.dispose()
    assert httpx.get(good).status_code == 200
    assert httpx.get(other).status_code == 400
