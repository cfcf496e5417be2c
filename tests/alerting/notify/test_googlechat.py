"""Google Chat notifier against a webhook stand-in: the exact card, one thread per fingerprint, card text
escaped for Chat's HTML subset and within 32,000 bytes, and what each documented error answer becomes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from otelmon.alerting.notify import googlechat
from otelmon.alerting.notify.base import AlertView, Delivered, PermanentFailure, RetryLater
from tests.alerting.notify import views
from tests.alerting.notify.deliver_once import deliver
from tests.harness.vendor_server import Reply
from tests.harness.vendors.googlechat import GoogleChatStandIn, card_text, error, formatted_texts

SPACE = "AAAAbcdEFgh"
KEY = "AIzaSyDdI0hCZtE6vySjMm-WEfRq3CPzqKqqsHI"
TOKEN = "Xq3_SECRET-webhook-token%3D"
KINDS = {"failure": views.ordinary(), "hostile": views.hostile(), "summary": views.summary(),
         "test": views.test_message(), "resolved": views.resolved()}
TRACE = "https://grafana.example.com/explore?schemaVersion=1&panes=%7B%7D&orgId=1"


@pytest.fixture
def chat() -> Iterator[GoogleChatStandIn]:
    with GoogleChatStandIn(SPACE, KEY, TOKEN) as server:
        yield server


def config(url: str) -> googlechat.Config:
    return googlechat.Config(webhook_url=url)


def fact(label: str, text: str) -> dict:
    return {"decoratedText": {"topLabel": label, "text": text, "wrapText": True}}


ORDINARY = {
    "fallbackText": "FAILED airflow / billing_daily / load_invoices (+1 more in this trace)",
    "cardsV2": [{"cardId": "otelmon-alert-101", "card": {
        "header": {"title": "FAILED airflow / billing_daily / load_invoices (+1 more in this trace)",
                   "subtitle": "Failure"},
        "sections": [
            {"widgets": [{"textParagraph": {"text": "<b>ValueError</b>: invoice 42 has no customer"}}]},
            {"widgets": [fact("Issue", views.ONGOING_LINE),
                         fact("Pipeline", "airflow / billing_daily / load_invoices"),
                         fact("Run", "scheduled__2026-12-01T09:00:00+00:00, try 3"),
                         fact("When", "2026-12-01 09:30:00.000 UTC, took 12.5 s"),
                         fact("Host", "worker-1"), fact("Owner", "data-team"),
                         fact("Not alerted since the previous alert", "3 repeats")]},
            {"header": "Last log lines", "collapsible": True, "widgets": [
                {"textParagraph": {"text": "INFO loading 1200 invoices<br>ERROR invoice 42 has no customer"}}]},
            {"header": "Other failing steps (1)", "widgets": [
                {"textParagraph": {"text": "load_invoices › parse<br><b>KeyError</b>: 'customer'"}}]},
            {"widgets": [{"buttonList": {"buttons": [
                {"text": "Open trace", "onClick": {"openLink": {"url": TRACE}}},
                {"text": "Failures dashboard", "onClick": {"openLink": {"url": views.FAILURES}}},
                {"text": "Mute 24 h", "onClick": {"openLink": {"url": views.MUTE}}},
                {"text": "Acknowledge", "onClick": {"openLink": {"url": views.ACK}}}]}}]},
        ]}}],
    "thread": {"threadKey": "0123456789abcdef"},
}


def test_an_alert_is_one_card_in_the_fingerprints_thread(chat: GoogleChatStandIn) -> None:
    _, outcome = deliver(googlechat, config(chat.webhook_url), views.ordinary())

    assert outcome == Delivered(f"spaces/{SPACE}/messages/m1.m1")
    [request] = chat.requests
    assert (request.method, request.path) == ("POST", f"/v1/spaces/{SPACE}/messages")
    assert request.query == (f"key={KEY}&token={TOKEN}"
                             "&messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD")
    assert request.json() == ORDINARY


def test_the_issue_line_is_the_first_fact_only_when_there_is_an_issue() -> None:
    def facts(view: AlertView) -> list[dict]:
        return googlechat.card_of(view, googlechat.DETAILS[0])["sections"][1]["widgets"]

    assert facts(views.regressed())[0] == fact("Issue", views.REGRESSED_LINE)
    assert facts(views.in_paris(views.ordinary()))[0] == fact("Issue", views.ONGOING_LINE_PARIS)
    assert facts(views.without_issue()) == facts(views.ordinary())[1:]
    assert facts(views.resolved())[0]["decoratedText"]["topLabel"] == "Pipeline"


def test_repeats_and_recovery_join_the_thread_of_the_first_alert(chat: GoogleChatStandIn) -> None:
    url = chat.webhook_url
    for view in (views.ordinary(), views.ordinary(), views.resolved(), views.hostile()):
        deliver(googlechat, config(url), view)

    threads = [request.json().get("thread") for request in chat.requests]
    assert threads[:3] == [{"threadKey": "0123456789abcdef"}] * 3 and threads[3] == {"threadKey": "fedcba9876543210"}
    assert len(set(chat.threads.values())) == 2 and len(chat.threads) == 2
    assert chat.requests[2].json()["cardsV2"][0]["card"]["header"]["subtitle"] == "Recovered"


def test_a_message_without_fingerprint_starts_its_own_thread(chat: GoogleChatStandIn) -> None:
    _, outcome = deliver(googlechat, config(chat.webhook_url), views.test_message())
    assert isinstance(outcome, Delivered)
    assert "thread" not in chat.requests[0].json()
    assert "messageReplyOption" not in chat.requests[0].query


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_is_well_formed_and_within_32000_bytes(chat: GoogleChatStandIn, kind: str) -> None:
    payload, outcome = deliver(googlechat, config(chat.webhook_url), KINDS[kind])

    assert isinstance(outcome, Delivered), outcome  # the stand-in parses every card text as Chat's HTML subset
    assert len(chat.requests[0].body) <= 32_000
    assert googlechat.widget_count(payload["cardsV2"][0]["card"]) <= 100


def test_hostile_text_is_shown_literally() -> None:
    notifier = googlechat.build(config("https://chat.googleapis.com/v1/spaces/S/messages"), None, "t")
    payload = notifier.render(views.hostile(), None)
    card = payload["cardsV2"][0]["card"]
    shown = [card_text(text) for text in formatted_texts(card)]

    assert card["header"]["title"] == f"FAILED {views.HOSTILE}"  # plain text: Chat does not read it as HTML
    assert shown[0].startswith(f"{views.HOSTILE}: {views.HOSTILE} 失敗しました")
    assert f"{views.HOSTILE} / {views.HOSTILE} / {views.HOSTILE}" in shown
    assert all("<script>" not in text and "<@U123>" not in text for text in formatted_texts(card))
    assert googlechat.message_bytes(payload) <= 32_000
    assert shown[-1] == "…and 40 more"  # 20 causes listed, 30 more: the first ten shown


def test_a_summary_lists_the_top_rows() -> None:
    notifier = googlechat.build(config("https://chat.googleapis.com/v1/spaces/S/messages"), None, "t")
    card = notifier.render(views.summary(), None)["cardsV2"][0]["card"]
    shown = [card_text(text) for text in formatted_texts(card)]
    assert shown[0] == "Most frequent of the held-back failures"
    assert shown[1] == f"100× airflow / dag_0 / task\nIOError: disk full {views.HOSTILE}"
    assert len(shown) == 22 and shown[-1] == "…and 42 more kinds"


WHERE = "127.0.0.1"


@pytest.mark.parametrize(("reply", "expected"), [
    (error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key."),
     PermanentFailure(f"HTTP 400 from {WHERE}: INVALID_ARGUMENT: API key not valid. Please pass a valid API key.")),
    (error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials."),
     PermanentFailure(f"HTTP 401 from {WHERE}: UNAUTHENTICATED: Request had invalid authentication credentials.")),
    (error(403, "PERMISSION_DENIED", "The caller does not have permission"),
     PermanentFailure(f"HTTP 403 from {WHERE}: PERMISSION_DENIED: The caller does not have permission")),
    (error(404, "NOT_FOUND", "Requested entity was not found."),
     PermanentFailure(f"HTTP 404 from {WHERE}: NOT_FOUND: Requested entity was not found.")),
    (error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
     RetryLater(f"HTTP 429 from {WHERE}: RESOURCE_EXHAUSTED: Resource has been exhausted (e.g. check quota).")),
    (Reply(429, {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED"}}, headers={"Retry-After": "7"}),
     RetryLater(f"HTTP 429 from {WHERE}: RESOURCE_EXHAUSTED", 7.0)),
    (error(500, "INTERNAL", "Internal error encountered."),
     RetryLater(f"HTTP 500 from {WHERE}: INTERNAL: Internal error encountered.")),
    (error(503, "UNAVAILABLE", "The service is currently unavailable."),
     RetryLater(f"HTTP 503 from {WHERE}: UNAVAILABLE: The service is currently unavailable.")),
], ids=["bad-key", "bad-token", "removed-from-space", "deleted", "429", "429-retry-after", "500", "503"])
def test_each_documented_error_maps_to_its_outcome(chat: GoogleChatStandIn, reply: Reply, expected: object) -> None:
    chat.script(reply)
    _, outcome = deliver(googlechat, config(chat.webhook_url), views.ordinary())
    assert outcome == expected


def test_wrong_credentials_fail_at_once_without_the_secrets(chat: GoogleChatStandIn) -> None:
    base = f"{chat.url}/v1/spaces/{SPACE}/messages"
    _, bad_key = deliver(googlechat, config(f"{base}?key=AIzaWRONGkey&token={TOKEN}"), views.ordinary())
    _, bad_token = deliver(googlechat, config(f"{base}?key={KEY}&token=wrongTOKEN"), views.ordinary())
    _, gone = deliver(googlechat, config(f"{chat.url}/v1/spaces/GONE/messages?key={KEY}&token={TOKEN}"),
                      views.ordinary())
    for outcome in (bad_key, bad_token, gone):
        assert isinstance(outcome, PermanentFailure)
        assert not any(secret in outcome.reason for secret in (KEY, TOKEN, "AIzaWRONGkey", "wrongTOKEN", SPACE))
    assert gone.reason == f"HTTP 404 from {WHERE}: NOT_FOUND: Requested entity was not found."


def test_a_slow_webhook_is_a_retry_without_secrets(chat: GoogleChatStandIn) -> None:
    chat.script(Reply(delay=1.0))
    _, outcome = deliver(googlechat, config(chat.webhook_url), views.ordinary(), timeout=0.2)
    assert outcome == RetryLater(f"timed out talking to {WHERE} (ReadTimeout)")


def test_a_card_over_32000_bytes_steps_down_to_less_detail(chat: GoogleChatStandIn) -> None:
    wide = "失" * 5000  # three bytes each: every clipped text is as heavy as it can be
    base = views.hostile()
    head = {**base.head, "error_message": wide, "log_lines": [wide] * 50}
    view = replace(base, head=head, causes=[{**cause, "process": wide, "error_message": wide} for cause in base.causes])
    full = {"cardsV2": [{"card": googlechat.card_of(view, googlechat.DETAILS[0])}]}
    assert googlechat.message_bytes(full) > 32_000  # the most detailed card would be refused

    payload, outcome = deliver(googlechat, config(chat.webhook_url), view)

    assert isinstance(outcome, Delivered), outcome
    assert len(chat.requests[0].body) <= 32_000
    sections = payload["cardsV2"][0]["card"]["sections"]
    logs = [section for section in sections if section.get("header") == "Last log lines"]
    assert card_text(logs[0]["widgets"][0]["textParagraph"]["text"]).count("\n") == 4  # five lines, not ten


def buttons_of(payload: dict) -> dict[str, str]:
    """Text -> URL of the card's buttons."""
    card = payload["cardsV2"][0]["card"]
    return {button["text"]: button["onClick"]["openLink"]["url"] for section in card["sections"]
            for widget in section["widgets"] for button in widget.get("buttonList", {}).get("buttons", [])}


def test_action_links_are_buttons_whose_urls_no_card_text_holds(chat: GoogleChatStandIn) -> None:
    payload, outcome = deliver(googlechat, config(chat.webhook_url), views.markup_links())
    assert isinstance(outcome, Delivered), outcome  # card texts parsed as Chat's HTML subset
    assert buttons_of(chat.requests[0].json()) == {
        "Open trace": TRACE, "Failures dashboard": views.FAILURES,
        "Mute 24 h": f"{views.MARKUP_SENT}/mute?x=1&y=2", "Acknowledge": f"{views.MARKUP_SENT}/ack"}
    assert not any("otelmon.example.com" in text for text in formatted_texts(payload["cardsV2"][0]["card"]))


@pytest.mark.parametrize("view", [views.without_actions(), views.resolved()], ids=["no-actions", "resolved"])
def test_no_action_buttons_without_them_or_after_recovery(chat: GoogleChatStandIn, view: AlertView) -> None:
    payload, _ = deliver(googlechat, config(chat.webhook_url), view)
    assert list(buttons_of(payload)) == ["Open trace", "Failures dashboard"]
