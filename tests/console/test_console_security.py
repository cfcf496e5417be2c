"""Every console page and form, found from the app's own routes (a page added later is covered too):

- every mutating route refuses a request without a session, without the form's CSRF token, with another
  session's token and from another site (403), and nothing changes;
- every page escapes what users and pipelines supplied (the hostile strings the email tests use);
- no page asks the browser for anything outside this server (the console works offline)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser

import httpx
import pytest
from fastapi.routing import APIRoute

from otelmon.api.console import ROUTERS
from tests.console.conftest import TOKEN, export_failure
from tests.harness.ports import free_port
from tests.harness.waiting import wait_until

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

AUTH = {"Authorization": f"Bearer {TOKEN}"}
HOSTILE = '<img src=x onerror="window.__xss=1">&<script>window.__xss=2</script>"\'`{{7*7}}'
RECEIVER = "data-team"  # names are letters, digits, - _ . (checked when the file is read)


def console_routes(method: str) -> list[str]:
    """The console's routes, as install_console adds them to the app."""
    return sorted({route.path for router in ROUTERS for route in router.routes
                   if isinstance(route, APIRoute) and method in route.methods})


@pytest.fixture
def hostile_console(start_api, console_env, tmp_path) -> Iterator[tuple]:
    """A console with one of everything, each carrying hostile text: a failure (and its issue), a silence, a
    failed alert, a receiver."""
    receivers = tmp_path / "notify.yaml"
    receivers.write_text(
        f"receivers:\n  - name: {RECEIVER}\n    email: [team@example.com]\ndefault_receiver: {RECEIVER}\n",
        encoding="utf-8")
    api = start_api({**console_env, "OTELMON_ALERTS_ENABLED": "true", "OTELMON_NOTIFY_CONFIG": str(receivers),
                     "OTELMON_SMTP_HOST": "127.0.0.1", "OTELMON_SMTP_PORT": str(free_port()),  # nothing listens
                     "OTELMON_SMTP_MAIL_FROM": "otelmon@example.com", "OTELMON_ALERT_MAX_ATTEMPTS": "1",
                     "OTELMON_ALERT_GROUP_WAIT_SECONDS": "0.2", "OTELMON_ALERT_POLL_SECONDS": "0.2"})
    export_failure(api, f"load {HOSTILE}", exc=RuntimeError(f"boom {HOSTILE}"), group=f"sales {HOSTILE}",
                   run=f"run {HOSTILE}")
    failure = httpx.get(f"{api.url}/api/v1/failures", headers=AUTH).json()["items"][0]
    silence = httpx.post(f"{api.url}/api/v1/silences", headers=AUTH, json={
        "matchers": {"group": "nothing-matches-this"}, "for": "1h", "comment": f"why {HOSTILE}",
        "author": f"me {HOSTILE}"}).json()
    alert = wait_until(lambda: next((a for a in httpx.get(f"{api.url}/api/v1/alerts", headers=AUTH).json()["items"]
                                     if a["state"] == "failed"), None), 30, what="the alert to fail")
    ids = {"fingerprint": failure["fingerprint"], "failure_id": failure["id"], "alert_id": alert["id"],
           "silence_id": silence["id"], "name": RECEIVER}
    yield api, ids


def fill(path: str, ids: dict) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1)
        assert name in ids, f"add a value for the path parameter {name!r} of {path} to this test"
        return str(ids[name])

    return re.sub(r"\{(\w+)\}", value, path)


def logged_in(api) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=api.url, timeout=30)
    page = client.get("/console/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    assert client.post("/console/login", data={"csrf": csrf, "token": TOKEN, "next": "/console/"}).status_code == 303
    return client, re.search(r'name="csrf" value="([^"]+)"', client.get("/console/").text).group(1)


def state(api) -> dict:
    read = {path: httpx.get(f"{api.url}{path}", headers=AUTH).json()
            for path in ("/api/v1/silences?state=all", "/api/v1/alerts", "/api/v1/issues", "/api/v1/failures")}
    for alert in read["/api/v1/alerts"]["items"]:
        alert.pop("next_attempt_at")
    return read


def test_every_form_refuses_without_session_csrf_or_from_another_site(hostile_console):
    api, ids = hostile_console
    forms = [p for p in console_routes("POST") if p != "/console/login"]
    assert len(forms) >= 6, forms  # logout, ack, silence create/expire, alert resend/cancel, receiver test
    before = state(api)
    client, csrf = logged_in(api)
    other, other_csrf = logged_in(api)
    try:
        for path in forms:
            url = fill(path, ids)
            attempts = {
                "no session": httpx.post(f"{api.url}{url}", data={"csrf": csrf}),
                "no csrf token": client.post(url, data={"comment": "x"}),
                "a wrong csrf token": client.post(url, data={"csrf": csrf[:-2] + "xx"}),
                "another session's token": client.post(url, data={"csrf": other_csrf}),
                "another site": client.post(url, data={"csrf": csrf}, headers={"Origin": "https://evil.example"}),
                "cross-site fetch": client.post(url, data={"csrf": csrf}, headers={"Sec-Fetch-Site": "cross-site"}),
            }
            for why, answer in attempts.items():
                assert answer.status_code == 403, (path, why, answer.status_code)
                assert "Nothing was changed" in answer.text
            # A body a page elsewhere can send without a preflight, but not a form: refused before anything.
            plain = client.post(url, content=f"csrf={csrf}", headers={"Content-Type": "text/plain"})
            assert plain.status_code in (403, 415), (path, plain.status_code)
            assert client.get("/console/").status_code == 200  # still logged in after all that
    finally:
        client.close()
        other.close()
    assert state(api) == before


def test_every_page_escapes_what_users_supplied(hostile_console):
    api, ids = hostile_console
    pages = console_routes("GET")
    client, _ = logged_in(api)
    seen = 0
    try:
        for path in pages:
            answer = client.get(fill(path, ids))
            assert answer.status_code in (200, 303), (path, answer.status_code)
            if answer.status_code != 200 or not answer.headers["content-type"].startswith("text/html"):
                continue
            seen += 1
            for raw in ("<img src=x", "<script>window"):
                assert raw not in answer.text, (path, raw)
            parser = _External()
            parser.feed(answer.text)
            assert parser.external == [], (path, parser.external)
            assert "default-src 'none'" in answer.headers["content-security-policy"], path
    finally:
        client.close()
    assert seen >= 8, pages


class _External(HTMLParser):
    """URLs a page would load or post to that are not this server's."""

    def __init__(self) -> None:
        super().__init__()
        self.external: list[str] = []

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        for key in {"script": ["src"], "link": ["href"], "img": ["src"], "iframe": ["src"],
                    "form": ["action"]}.get(tag, []):
            url = found.get(key) or ""
            if url.startswith(("http:", "https:", "//")):
                self.external.append(url)
