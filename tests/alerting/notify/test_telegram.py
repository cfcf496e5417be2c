"""Telegram notifier against a Bot API stand-in: exact bodies, HTML escaping and the 4096 limit, replies to the
first alert, and what each documented error answer becomes."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest

from otelmon.alerting.notify import telegram
from otelmon.alerting.notify.base import AlertView, Delivered, PermanentFailure, RetryLater
from tests.alerting.notify import views
from tests.alerting.notify.deliver_once import deliver
from tests.harness.vendor_server import Reply
from tests.harness.vendors.telegram import TelegramStandIn, failure, utf16_units, visible_text

TOKEN = "123456789:AAHsecretSECRETsecret_token-xyz"
CHAT = "-1001234"


@pytest.fixture
def api() -> Iterator[TelegramStandIn]:
    with TelegramStandIn(TOKEN, chats=(CHAT,)) as server:
        yield server


def config(api: TelegramStandIn, **overrides: object) -> telegram.Config:
    return telegram.Config(**{"bot_token": TOKEN, "chat_id": int(CHAT), "api_url": api.url, **overrides})


ORDINARY_TEXT = (
    "🔴 <b>FAILED airflow / billing_daily / load_invoices (+1 more in this trace)</b>\n"
    f"<i>{views.ONGOING_LINE}</i>\n"
    "<b>ValueError</b>: invoice 42 has no customer\n\n"
    "Pipeline: airflow / billing_daily / load_invoices\n"
    "Run: <code>scheduled__2026-12-01T09:00:00+00:00</code>, try 3\n"
    "When: 2026-12-01 09:30:00.000 UTC, took 12.5 s\n"
    "Host: worker-1\n"
    "Owner: data-team\n"
    "3 repeats not alerted since the previous alert\n"
    '<a href="https://grafana.example.com/explore?schemaVersion=1&amp;panes=%7B%7D&amp;orgId=1">Open trace</a>'
    ' · <a href="https://grafana.example.com/d/otelmon-failures">Failures dashboard</a>'
    f' · <a href="{views.MUTE}">Mute 24 h</a> · <a href="{views.ACK}">Acknowledge</a>\n\n'
    "Last log lines:\n<pre>INFO loading 1200 invoices\nERROR invoice 42 has no customer</pre>\n\n"
    "Other failing steps (1):\n"
    "• load_invoices › parse: <b>KeyError</b>: 'customer'"
)


def test_an_alert_is_one_sendmessage_with_the_documented_body(api: TelegramStandIn) -> None:
    _, outcome = deliver(telegram, config(api, message_thread_id=42), views.ordinary())

    assert outcome == Delivered("1")
    [request] = api.requests
    assert (request.method, request.path) == ("POST", f"/bot{TOKEN}/sendMessage")
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {"chat_id": CHAT, "text": ORDINARY_TEXT, "parse_mode": "HTML",
                              "link_preview_options": {"is_disabled": True}, "message_thread_id": 42}


def test_repeats_and_recovery_reply_to_the_first_alert(api: TelegramStandIn) -> None:
    _, first = deliver(telegram, config(api), views.ordinary())
    _, repeat = deliver(telegram, config(api), views.ordinary(), thread=first.reference)
    _, recovery = deliver(telegram, config(api), views.resolved(), thread=first.reference)

    assert (first, repeat, recovery) == (Delivered("1"), Delivered("2"), Delivered("3"))
    bodies = [request.json() for request in api.requests]
    assert "reply_parameters" not in bodies[0]
    for body in bodies[1:]:
        assert body["reply_parameters"] == {"message_id": 1, "allow_sending_without_reply": True}
    assert visible_text(bodies[2]["text"]).startswith("✅ RECOVERED airflow / billing_daily / load_invoices\n"
                                                      "Was ValueError: invoice 42 has no customer\n")
    assert "Last log lines" not in bodies[2]["text"]


@pytest.mark.parametrize("view", [views.ordinary(), views.hostile(), views.summary(), views.test_message(),
                                  views.resolved()], ids=["failure", "hostile", "summary", "test", "resolved"])
def test_every_kind_is_well_formed_html_within_4096_characters(api: TelegramStandIn, view: views.AlertView) -> None:
    payload, outcome = deliver(telegram, config(api), view)

    assert isinstance(outcome, Delivered), outcome  # the stand-in parses the HTML as Telegram does
    shown = visible_text(payload["text"])
    assert 0 < utf16_units(shown) <= 4096
    assert shown.startswith({"failure": "🔴 ", "summary": "🟠 ", "test": "🧪 "}[view.kind]
                            if view.status == "firing" else "✅ ")


def test_hostile_text_is_shown_literally_and_cut_on_the_visible_text() -> None:
    notifier = telegram.build(telegram.Config(bot_token=TOKEN, chat_id=CHAT), None, "data-team")
    text = notifier.render(views.hostile(), None)["text"]

    shown = visible_text(text)  # raises unless every tag is supported and closed
    assert shown.startswith(f"🔴 FAILED {views.HOSTILE}\n{views.ONGOING_LINE}\n"
                            f"{views.HOSTILE}: {views.HOSTILE} 失敗しました")
    assert f"Host: {views.HOSTILE}\n" in shown
    assert utf16_units(shown) == 4096  # cut at the limit, not before it
    assert shown.endswith("…") and text.endswith("</pre>")  # the cut fell into the log lines: <pre> still closed
    assert "<script>" not in text and "&amp;amp;" in text


def test_the_issue_line_follows_the_title_only_when_there_is_an_issue() -> None:
    notifier = telegram.build(telegram.Config(bot_token=TOKEN, chat_id=CHAT), None, "data-team")

    def lines(view: AlertView) -> list[str]:
        return notifier.render(view, None)["text"].split("\n")

    assert lines(views.regressed())[:2] == ["🔴 <b>REGRESSED airflow / billing_daily / load_invoices "
                                            "(+1 more in this trace)</b>", f"<i>{views.REGRESSED_LINE}</i>"]
    assert lines(views.in_paris(views.ordinary()))[1] == f"<i>{html.escape(views.ONGOING_LINE_PARIS)}</i>"
    assert lines(views.without_issue()) == lines(views.ordinary())[:1] + lines(views.ordinary())[2:]
    assert lines(views.resolved())[1].startswith("Was <b>ValueError</b>")


def test_a_summary_lists_the_top_rows_and_links_the_dashboard() -> None:
    notifier = telegram.build(telegram.Config(bot_token=TOKEN, chat_id=CHAT), None, "data-team")
    shown = visible_text(notifier.render(views.summary(), None)["text"])

    assert shown.startswith("🟠 250 more failures held back (over 20/min)\nFailures dashboard\n")
    assert f"• 100× airflow / dag_0 / task: IOError: disk full {views.HOSTILE}\n" in shown
    assert "dag_9 " in shown and "dag_10 " not in shown
    assert shown.endswith("…and 52 more kinds")


@pytest.mark.parametrize(("reply", "expected"), [
    (failure(400, "Bad Request: chat not found"),
     PermanentFailure("HTTP 400 from 127.0.0.1: Bad Request: chat not found")),
    (failure(401, "Unauthorized"), PermanentFailure("HTTP 401 from 127.0.0.1: Unauthorized")),
    (failure(403, "Forbidden: bot was blocked by the user"),
     PermanentFailure("HTTP 403 from 127.0.0.1: Forbidden: bot was blocked by the user")),
    (failure(403, "Forbidden: bot was kicked from the supergroup chat"),
     PermanentFailure("HTTP 403 from 127.0.0.1: Forbidden: bot was kicked from the supergroup chat")),
    (failure(429, "Too Many Requests: retry after 17", retry_after=17),
     RetryLater("HTTP 429 from 127.0.0.1: Too Many Requests: retry after 17", 17.0)),
    (failure(400, "Bad Request: group chat was upgraded to a supergroup chat", migrate_to_chat_id=-1009876),
     PermanentFailure("the group became a supergroup: set chat_id to -1009876 "
                      "(Bad Request: group chat was upgraded to a supergroup chat)")),
    (failure(500, "Internal Server Error"), RetryLater("HTTP 500 from 127.0.0.1: Internal Server Error")),
    (Reply(502, "<html>Bad Gateway</html>"), RetryLater("HTTP 502 from 127.0.0.1: <html>Bad Gateway</html>")),
    (Reply(200, {"ok": False, "description": "odd proxy"}),
     PermanentFailure("HTTP 200 from 127.0.0.1 without ok: true: odd proxy")),
], ids=["chat-not-found", "unauthorized", "blocked", "kicked", "429", "migrated", "500", "502-html", "200-not-ok"])
def test_each_documented_error_maps_to_its_outcome(api: TelegramStandIn, reply: Reply, expected: object) -> None:
    api.script(reply)
    _, outcome = deliver(telegram, config(api), views.ordinary())
    assert outcome == expected


def test_the_real_unauthorized_answer_of_a_wrong_token_never_shows_the_token(api: TelegramStandIn) -> None:
    wrong = "987654321:AAHanotherSECRETvalue"
    _, outcome = deliver(telegram, config(api, bot_token=wrong), views.ordinary())
    assert outcome == PermanentFailure("HTTP 401 from 127.0.0.1: Unauthorized")
    assert api.requests[0].path == f"/bot{wrong}/sendMessage"


def test_a_slow_api_is_a_retry_without_the_token(api: TelegramStandIn) -> None:
    api.script(Reply(delay=1.0))
    _, outcome = deliver(telegram, config(api), views.ordinary(), timeout=0.2)
    assert isinstance(outcome, RetryLater) and outcome.after_seconds is None
    assert outcome.reason == "timed out talking to 127.0.0.1 (ReadTimeout)"


def test_an_unreachable_api_is_a_retry() -> None:
    with TelegramStandIn(TOKEN) as gone:
        url = gone.url
    _, outcome = deliver(telegram, telegram.Config(bot_token=TOKEN, chat_id=CHAT, api_url=url), views.ordinary())
    assert isinstance(outcome, RetryLater) and TOKEN not in outcome.reason


def test_a_reason_echoing_the_url_is_masked(api: TelegramStandIn) -> None:
    api.script(Reply(502, f"proxy could not reach /bot{TOKEN}/sendMessage"))
    _, outcome = deliver(telegram, config(api), views.ordinary())
    assert outcome == RetryLater("HTTP 502 from 127.0.0.1: proxy could not reach /bot***/sendMessage")


ANCHOR = re.compile(r'<a href="([^"]*)">([^<]*)</a>')


def anchors(text: str) -> dict[str, str]:
    """Label -> URL (entities decoded) of every link in a message's HTML."""
    return {html.unescape(label): html.unescape(href) for href, label in ANCHOR.findall(text)}


def test_action_links_are_anchors_whose_href_markup_characters_cannot_end(api: TelegramStandIn) -> None:
    payload, outcome = deliver(telegram, config(api), views.markup_links())
    assert outcome == Delivered("1"), outcome  # the stand-in parsed the HTML as Telegram does
    assert anchors(payload["text"]) == {"Open trace": views.TRACE, "Failures dashboard": views.FAILURES,
                                        "Mute 24 h": f"{views.MARKUP_SENT}/mute?x=1&y=2",
                                        "Acknowledge": f"{views.MARKUP_SENT}/ack"}
    assert "/mute?x=1&amp;y=2" in payload["text"]


@pytest.mark.parametrize("view", [views.without_actions(), views.resolved()], ids=["no-actions", "resolved"])
def test_no_action_links_without_them_or_after_recovery(api: TelegramStandIn, view: views.AlertView) -> None:
    payload, _ = deliver(telegram, config(api), view)
    assert list(anchors(payload["text"])) == ["Open trace", "Failures dashboard"]
