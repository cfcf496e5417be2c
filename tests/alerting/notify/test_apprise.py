"""Apprise, for real: its ``json://`` plugin posting to a loopback server, the request it made, and its
True/False turned into outcomes; an unknown URL fails at once naming its scheme only; without the package,
``build`` says how to install it."""

from __future__ import annotations

import asyncio
import logging
import sys
import time

import pytest

from otelmon.alerting.notify import apprise as apprise_notify
from otelmon.alerting.notify.base import AlertView, Delivered, NotifyContext, Outcome, PermanentFailure, RetryLater
from otelmon.alerting.notify.http import new_client
from otelmon.config import Settings
from tests.alerting.notify import views
from tests.harness.vendor_server import Reply, VendorServer

TOKEN = "tok3n-in-the-path-0123456789"


@pytest.fixture
def endpoint():
    with VendorServer(lambda request: Reply(200)) as server:
        yield server


def url_of(server: VendorServer) -> str:
    return f"json://127.0.0.1:{server.port}/hook/{TOKEN}"


def deliver(url: str, view: AlertView, timeout: float | None = None) -> Outcome:
    async def run() -> Outcome:
        async with new_client() as http:
            notifier = apprise_notify.build(apprise_notify.Config.model_validate(url),
                                            NotifyContext(settings=Settings(), http=http), "data-team")
            if timeout is not None:
                notifier.timeout = timeout
            return await notifier.send(notifier.render(view, None))
    return asyncio.run(run())


ORDINARY_MESSAGE = "\n".join([
    views.ONGOING_LINE,
    "ValueError: invoice 42 has no customer",
    "Run scheduled__2026-12-01T09:00:00+00:00 (try 3) on worker-1",
    "Failed at 2026-12-01 09:30:00 UTC",
    "Also failed in this trace:",
    "- airflow / billing_daily / load_invoices › parse: KeyError: 'customer'",
    "3 repeats since the last alert were not sent.",
    f"Open trace: {views.TRACE}",
    f"Failures dashboard: {views.FAILURES}",
    f"Mute 24 h: {views.MUTE}",
    f"Acknowledge: {views.ACK}",
])


def test_apprise_posts_the_alert(endpoint: VendorServer):
    assert deliver(url_of(endpoint), views.ordinary()) == Delivered()

    [request] = endpoint.requests
    assert (request.method, request.path) == ("POST", f"/hook/{TOKEN}")
    assert request.headers["content-type"] == "application/json"
    # Apprise's JSON plugin (custom_json.py): version, title, message, attachments, type
    assert request.json() == {"version": "1.0",
                              "title": "FAILED airflow / billing_daily / load_invoices (+1 more in this trace)",
                              "message": ORDINARY_MESSAGE, "attachments": [], "type": "failure"}


def test_the_issue_line_leads_the_body_of_a_failure_that_has_an_issue():
    assert apprise_notify.text_lines(views.regressed())[:2] == [views.REGRESSED_LINE,
                                                               "ValueError: invoice 42 has no customer"]
    assert apprise_notify.text_lines(views.in_paris(views.ordinary()))[0] == views.ONGOING_LINE_PARIS
    assert apprise_notify.text_lines(views.without_issue()) == ORDINARY_MESSAGE.splitlines()[1:]


def test_recovery_and_test_messages_have_their_own_type(endpoint: VendorServer):
    assert deliver(url_of(endpoint), views.resolved()) == Delivered()
    assert deliver(url_of(endpoint), views.test_message()) == Delivered()
    resolved, test = (request.json() for request in endpoint.requests)
    assert (resolved["type"], resolved["title"]) == ("success", "RECOVERED airflow / billing_daily / load_invoices")
    assert test["type"] == "info" and test["message"] == "If you read this, OtelMon can reach this channel."
    assert "Mute" not in resolved["message"] and "Acknowledge" not in resolved["message"]


def test_action_links_are_lines_of_their_own_with_markup_characters_carried(endpoint: VendorServer):
    assert deliver(url_of(endpoint), views.markup_links()) == Delivered()
    assert deliver(url_of(endpoint), views.without_actions()) == Delivered()
    marked, plain = (request.json()["message"].splitlines() for request in endpoint.requests)
    assert marked[-2:] == [f"Mute 24 h: {views.MARKUP_SENT}/mute?x=1&y=2", f"Acknowledge: {views.MARKUP_SENT}/ack"]
    assert plain[-1] == f"Failures dashboard: {views.FAILURES}"
    assert not any(line.startswith(("Mute", "Acknowledge")) for line in plain)


def test_a_hostile_alert_is_bounded_and_carried_as_text(endpoint: VendorServer):
    assert deliver(url_of(endpoint), views.hostile()) == Delivered()

    sent = endpoint.requests[0].json()
    assert len(sent["title"]) <= apprise_notify.TITLE_CHARS and len(sent["message"]) <= apprise_notify.BODY_CHARS
    assert sent["title"] == f"FAILED {views.HOSTILE}"
    assert views.HOSTILE in sent["message"] and "<script>alert(1)</script>" in sent["message"]


def test_not_sent_is_retried_and_the_reason_names_the_scheme_only(endpoint: VendorServer):
    endpoint.always(Reply(500))
    outcome = deliver(url_of(endpoint), views.ordinary())
    assert outcome == RetryLater("Apprise (json://) reported the notification was not sent")


def test_a_url_apprise_cannot_use_fails_at_once_without_the_url():
    outcome = deliver(f"nosuchservice://user:p4ssw0rd@example.com/{TOKEN}", views.ordinary())
    assert outcome == PermanentFailure("Apprise cannot use this URL (scheme nosuchservice://)")
    outcome = deliver(f"not a url {TOKEN}", views.ordinary())
    assert outcome == PermanentFailure("Apprise cannot use this URL (scheme (none)://)")


def test_a_slow_service_is_given_up_for_now_without_blocking(endpoint: VendorServer):
    endpoint.script(Reply(200, delay=3.0))
    started = time.monotonic()
    outcome = deliver(url_of(endpoint), views.ordinary(), timeout=0.5)
    assert outcome == RetryLater("Apprise (json://) did not finish within 0.5 s")
    assert time.monotonic() - started < 2.5


def test_apprise_debug_logging_does_not_reveal_the_url(endpoint: VendorServer, caplog: pytest.LogCaptureFixture):
    caplog.set_level(logging.DEBUG)
    assert deliver(url_of(endpoint), views.ordinary()) == Delivered()
    apprise_lines = [record.getMessage() for record in caplog.records if record.name.startswith("apprise")]
    assert "Sent JSON POST notification." in apprise_lines  # its info lines still arrive
    assert not [line for line in apprise_lines if TOKEN in line]


def test_without_apprise_build_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "apprise", None)  # what an environment without the package imports
    config = apprise_notify.Config.model_validate("ntfy://otelmon-alerts")
    with pytest.raises(RuntimeError, match=r"pip install otelmon\[apprise\]"):
        apprise_notify.build(config, NotifyContext(settings=Settings(), http=None), "data-team")  # type: ignore[arg-type]
