"""Slack notifier against a stand-in that follows Slack's documented contract (tests/harness/vendors/slack.py):
exact bodies, escaping and limits checked with slack_sdk's own models, every documented error's outcome,
bot-mode threads and updates, and no secret in any reason."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from slack_sdk.models.blocks import Block

from otelmon.alerting.notify import registry, slack
from otelmon.alerting.notify.base import AlertView, Delivered, NotifyContext, Outcome, PermanentFailure, RetryLater
from otelmon.alerting.notify.http import new_client
from otelmon.config import Settings
from tests.alerting.notify import views
from tests.harness.vendor_server import Reply
from tests.harness.vendors.slack import TOKEN, WEBHOOK_PATH, Slack, blocks_problem

KINDS = {"failure": views.ordinary, "hostile": views.hostile, "summary": views.summary,
         "test": views.test_message, "resolved": views.resolved}


@pytest.fixture
def workspace() -> Iterator[Slack]:
    with Slack() as stand_in:
        yield stand_in


def webhook(stand_in: Slack, url: str | None = None) -> slack.Config:
    return registry.config_model("slack").model_validate({"webhook_url": url or stand_in.webhook_url})


def bot(stand_in: Slack, channel: str = "#alerts", token: str = TOKEN) -> slack.Config:
    return registry.config_model("slack").model_validate(
        {"bot_token": token, "channel": channel, "api_url": stand_in.api_url})


def deliver(config: slack.Config, view: AlertView, thread: str | None = None,
            timeout: float | None = None) -> tuple[slack.SlackPayload, Outcome]:
    async def go() -> tuple[slack.SlackPayload, Outcome]:
        async with new_client() as http:
            if timeout is not None:
                http.timeout = httpx.Timeout(timeout)
            notifier = registry.build("slack", config, NotifyContext(Settings(), http), "data-team")
            payload = notifier.render(view, thread)
            return payload, await notifier.send(payload)
    return asyncio.run(go())


def mrkdwn_texts(blocks: list[dict[str, Any]]) -> list[str]:
    texts: list[str] = []
    for block in blocks:
        for text in [block.get("text")] + (block.get("fields") or []) + (block.get("elements") or []):
            if isinstance(text, dict) and text.get("type") == "mrkdwn":
                texts.append(text["text"])
    return texts


def literal(mrkdwn: str) -> str:
    """What Slack shows for a code span or block we wrote: entities decoded, our zero-width marks removed."""
    inner = mrkdwn.strip("`").strip("\n")
    inner = inner.replace("\u200b", "").replace("\u02cb", "`")
    return inner.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


# --- webhook mode -------------------------------------------------------------------------------------------

def test_webhook_posts_the_rendered_message_as_is(workspace: Slack) -> None:
    payload, outcome = deliver(webhook(workspace), views.ordinary())
    assert outcome == Delivered(None)
    [request] = workspace.calls(WEBHOOK_PATH)
    assert request.method == "POST" and request.headers["content-type"].startswith("application/json")
    body = request.json()
    assert body == payload.message
    assert set(body) == {"text", "blocks", "unfurl_links", "unfurl_media"}
    assert body["text"] == ("FAILED airflow / billing_daily / load_invoices (+1 more in this trace): "
                            "ValueError: invoice 42 has no customer")
    header, issue, fields, error, logs, causes, context, actions = body["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "emoji": False,
                                                 "text": "🔴 FAILED airflow / billing_daily / load_invoices "
                                                         "(+1 more in this trace)"}}
    assert issue == {"type": "context", "elements": [{"type": "mrkdwn", "text": views.ONGOING_LINE}]}
    assert [f["text"] for f in fields["fields"]][:5] == [
        "*Platform*\n`airflow`", "*Group*\n`billing_daily`", "*Process*\n`load_invoices`", "*Error type*\n`ValueError`",
        "*Run*\n`scheduled__2026-12-01T09:00:00+00:00 (try 3)`"]
    assert error["text"]["text"] == "*Error*\n```\ninvoice 42 has no customer\n```"
    assert logs["text"]["text"] == ("*Last 2 log lines*\n```\nINFO loading 1200 invoices\n"
                                    "ERROR invoice 42 has no customer\n```")
    assert causes["text"]["text"] == "*Also failing in this trace*\n• `load_invoices › parse` `KeyError`: `'customer'`"
    assert "3 repeats not alerted" in context["elements"][0]["text"]
    assert [(b["text"]["text"], b["url"]) for b in actions["elements"]] == [
        ("Open trace", views.TRACE), ("Failures dashboard", views.FAILURES), ("Mute 24 h", views.MUTE),
        ("Acknowledge", views.ACK)]
    assert [b["action_id"] for b in actions["elements"]] == [
        "otelmon-trace", "otelmon-failures", "otelmon-mute", "otelmon-ack"]


def buttons(blocks: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(element["text"]["text"], element["url"]) for block in blocks if block["type"] == "actions"
            for element in block["elements"]]


def test_action_links_are_url_buttons_outside_any_mrkdwn(workspace: Slack) -> None:
    payload, outcome = deliver(webhook(workspace), views.markup_links())
    assert outcome == Delivered(None), outcome  # the stand-in checks the blocks with slack_sdk's models
    blocks = payload.message["blocks"]
    assert buttons(blocks) == [("Open trace", views.TRACE), ("Failures dashboard", views.FAILURES),
                               ("Mute 24 h", f"{views.MARKUP_SENT}/mute?x=1&y=2"),
                               ("Acknowledge", f"{views.MARKUP_SENT}/ack")]
    assert not any("otelmon.example.com" in text for text in mrkdwn_texts(blocks))


@pytest.mark.parametrize("view", [views.without_actions, views.resolved], ids=["no-actions", "resolved"])
def test_no_action_buttons_without_them_or_after_recovery(workspace: Slack, view: Any) -> None:
    payload, _ = deliver(webhook(workspace), view())
    assert [label for label, _ in buttons(payload.message["blocks"])] == ["Open trace", "Failures dashboard"]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_is_accepted_and_within_slack_limits(workspace: Slack, kind: str) -> None:
    view = KINDS[kind]()
    payload, outcome = deliver(webhook(workspace), view)
    assert outcome == Delivered(None), outcome
    assert workspace.calls(WEBHOOK_PATH)[0].json() == payload.message
    blocks = payload.message["blocks"]
    assert blocks_problem(blocks) is None
    assert [Block.parse(block).to_dict() for block in blocks] == blocks  # slack_sdk's models round-trip them
    assert 0 < len(payload.message["text"]) <= slack.FALLBACK_CHARS
    assert len(json.dumps(payload.message)) < 40_000


def test_summary_lists_the_top_rows_and_how_many_more() -> None:
    blocks = slack.blocks_for(views.summary())
    texts = mrkdwn_texts(blocks)
    assert texts[0] == "*250 failures held back (over 20 alerts a minute).* Most frequent:"
    rows = texts[1].splitlines()
    assert rows[0].startswith("• `airflow / dag_0 / task` ×100: `IOError` `disk full &lt;b&gt;bold")
    assert all(len(row) < 300 for row in rows)
    assert len(rows) == slack.SUMMARY_ROWS
    assert texts[2].startswith(f"…and {50 - slack.SUMMARY_ROWS + 12} more")


def test_test_and_resolved_messages_say_what_they_are() -> None:
    test_blocks = slack.blocks_for(views.test_message())
    assert test_blocks[0]["text"]["text"] == "🧪 OtelMon test message: this receiver is set up"
    assert "reach this channel" in test_blocks[1]["text"]["text"]
    resolved = slack.blocks_for(views.resolved())
    assert resolved[0]["text"]["text"] == "✅ RECOVERED airflow / billing_daily / load_invoices"
    assert "*Last error*\n```\ninvoice 42 has no customer\n```" in mrkdwn_texts(resolved)
    assert not any("log lines" in text for text in mrkdwn_texts(resolved))


def test_the_issue_line_sits_under_the_header_and_only_when_there_is_an_issue() -> None:
    regressed = slack.blocks_for(views.regressed())
    assert regressed[0]["text"]["text"].startswith("🔴 REGRESSED airflow")
    assert regressed[1] == {"type": "context", "elements": [{"type": "mrkdwn", "text": views.REGRESSED_LINE}]}
    assert slack.blocks_for(views.in_paris(views.ordinary()))[1]["elements"][0]["text"] == views.ONGOING_LINE_PARIS
    without = slack.blocks_for(views.without_issue())
    assert without == [block for block in slack.blocks_for(views.ordinary()) if block["type"] != "context"
                       or "Failing since" not in block["elements"][0]["text"]]
    assert not any("times since" in text for text in mrkdwn_texts(slack.blocks_for(views.resolved())))


def test_times_are_also_shown_in_the_display_timezone() -> None:
    view = AlertView(**{**views.ordinary().__dict__, "display_timezone": "Europe/Paris"})
    assert mrkdwn_texts(slack.blocks_for(view))[-1].endswith("2026-12-01 09:30:00.000 UTC (2026-12-01 10:30:00 CET)")


def test_hostile_text_shows_literally_and_fits() -> None:
    view = views.hostile()
    message = slack.WebhookNotifier("http://x.invalid/hook", NotifyContext(Settings(), None)).render(view, None).message
    blocks = message["blocks"]
    assert blocks_problem(blocks) is None
    header = blocks[0]["text"]
    assert header["type"] == "plain_text" and len(header["text"]) == slack.HEADER_CHARS
    assert header["text"].endswith("…")
    for text in mrkdwn_texts(blocks) + [message["text"]]:
        assert "<" not in text and ">" not in text, text[:200]  # no link, mention or special command survives
        assert not re.search(r"@(channel|here|everyone)", text)
    assert blocks[1]["elements"][0]["text"] == views.ONGOING_LINE
    fields = blocks[2]["fields"]
    platform = fields[0]["text"]
    assert re.fullmatch(r"\*Platform\*\n`[^`]*`", platform)  # a code span: *star* and _under_ stay literal
    assert literal(platform.split("\n", 1)[1]) == views.HOSTILE
    error = blocks[3]["text"]["text"]
    assert len(error) <= slack.SECTION_CHARS
    shown = literal(error.removeprefix("*Error*\n"))
    assert shown.endswith("…")
    assert views.hostile().head["error_message"].startswith(shown[:-1])
    assert not re.search(r"&[a-z]{0,3}…", error)  # no entity cut in two
    assert error.count("```") == 2


def test_a_backtick_fence_in_user_text_cannot_close_the_code_block() -> None:
    view = views.ordinary()
    view.head["error_message"] = "before ``` *after*"
    error = slack.blocks_for(view)[3]["text"]["text"]
    assert error.count("```") == 2 and literal(error.removeprefix("*Error*\n")) == "before ``` *after*"


def test_webhook_ignores_threads(workspace: Slack) -> None:
    notifier = slack.build(webhook(workspace), NotifyContext(Settings(), None), "r")
    assert notifier.render(views.ordinary(), "C0ALERTS:1.2") == notifier.render(views.ordinary(), None)


def test_a_removed_webhook_fails_at_once(workspace: Slack) -> None:
    _, outcome = deliver(webhook(workspace, workspace.server.url + "/services/T0001/B0001/Gone999"), views.ordinary())
    assert isinstance(outcome, PermanentFailure)
    assert outcome.reason.startswith("HTTP 404 from 127.0.0.1: no_service")
    assert "Gone999" not in outcome.reason and "/services" not in outcome.reason
    assert len(workspace.server.requests) == 1


@pytest.mark.parametrize(("status", "code", "headers", "expected"), [
    (403, "invalid_token", {}, PermanentFailure),
    (403, "action_prohibited", {}, PermanentFailure),
    (404, "channel_not_found", {}, PermanentFailure),
    (410, "channel_is_archived", {}, PermanentFailure),
    (400, "invalid_payload", {}, PermanentFailure),
    (400, "no_text", {}, PermanentFailure),
    (429, "rate_limited", {"Retry-After": "30"}, RetryLater),
    (500, "rollup_error", {}, RetryLater),
    (503, "service_unavailable", {}, RetryLater),
])
def test_webhook_error_outcomes(workspace: Slack, status: int, code: str, headers: dict[str, str],
                                expected: type) -> None:
    workspace.server.script(Reply(status, code, headers))
    _, outcome = deliver(webhook(workspace), views.ordinary())
    assert isinstance(outcome, expected)
    assert outcome.reason.startswith(f"HTTP {status} from 127.0.0.1: {code}")
    assert WEBHOOK_PATH not in outcome.reason and "Zq8secret" not in outcome.reason
    if status == 429:
        assert outcome.after_seconds == 30


def test_an_archived_channel_is_permanent_with_a_hint(workspace: Slack) -> None:
    workspace.archived = True
    _, outcome = deliver(webhook(workspace), views.ordinary())
    assert outcome == PermanentFailure("HTTP 410 from 127.0.0.1: channel_is_archived (the channel is archived)")


def test_a_slow_webhook_times_out_as_retry_later(workspace: Slack) -> None:
    workspace.server.script(Reply(200, "ok", delay=1.0))
    _, outcome = deliver(webhook(workspace), views.ordinary(), timeout=0.2)
    assert isinstance(outcome, RetryLater) and outcome.reason.startswith("timed out talking to 127.0.0.1")
    assert "Zq8secret" not in outcome.reason


def test_a_secret_echoed_by_a_proxy_is_masked(workspace: Slack) -> None:
    workspace.server.script(Reply(502, f"bad gateway for {WEBHOOK_PATH}"))
    _, outcome = deliver(webhook(workspace), views.ordinary())
    assert isinstance(outcome, RetryLater) and "Zq8secret" not in outcome.reason and "***" in outcome.reason


# --- bot token mode -----------------------------------------------------------------------------------------

def test_bot_posts_with_bearer_token_and_answers_channel_and_ts(workspace: Slack) -> None:
    payload, outcome = deliver(bot(workspace), views.ordinary())
    [request] = workspace.server.requests
    assert request.path == "/api/chat.postMessage"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    body = request.json()
    assert body == payload.message and body["channel"] == "#alerts" and "thread_ts" not in body
    assert body["blocks"] == slack.blocks_for(views.ordinary())
    [(channel, ts)] = workspace.messages
    assert outcome == Delivered(f"{channel}:{ts}") and channel == "C0ALERTS"


def test_a_repeat_goes_to_the_thread_and_updates_the_first_message(workspace: Slack) -> None:
    _, first = deliver(bot(workspace), views.ordinary())
    assert isinstance(first, Delivered)
    channel, ts = first.reference.split(":")
    payload, again = deliver(bot(workspace), views.ordinary(), thread=first.reference)
    assert again == Delivered(first.reference)  # later alerts keep joining the first message's thread
    post, update = workspace.server.requests[1:]
    assert post.path == "/api/chat.postMessage" and update.path == "/api/chat.update"
    assert post.json() == payload.message and update.json() == payload.update
    assert post.json()["thread_ts"] == ts and post.json()["channel"] == channel
    assert update.json()["ts"] == ts and update.json()["channel"] == channel
    assert update.headers["authorization"] == f"Bearer {TOKEN}"
    parent = workspace.messages[(channel, ts)]
    assert parent["edited"] and "thread_ts" not in parent
    status = parent["blocks"][0]["elements"][0]["text"]
    assert status.startswith("🔁 *Failed again*") and "3 repeats not alerted" in status and "thread" in status
    replies = [m for m in workspace.messages.values() if m.get("thread_ts") == ts]
    assert len(replies) == 1 and replies[0]["blocks"] == slack.blocks_for(views.ordinary())

    _, recovered = deliver(bot(workspace), views.resolved(), thread=first.reference)
    assert recovered == Delivered(first.reference)
    assert workspace.messages[(channel, ts)]["blocks"][0]["elements"][0]["text"].startswith("✅ *Recovered*")
    assert workspace.messages[(channel, ts)]["blocks"][1]["text"]["text"].startswith("✅ RECOVERED")
    assert len([m for m in workspace.messages.values() if m.get("thread_ts") == ts]) == 2


def test_a_failed_thread_post_updates_nothing(workspace: Slack) -> None:
    _, first = deliver(bot(workspace), views.ordinary())
    workspace.server.script(Reply(200, {"ok": False, "error": "internal_error"}))
    _, outcome = deliver(bot(workspace), views.ordinary(), thread=first.reference)
    assert isinstance(outcome, RetryLater)
    assert [r.path for r in workspace.server.requests] == ["/api/chat.postMessage"] * 2


def test_a_failed_update_does_not_undo_the_delivered_reply(workspace: Slack) -> None:
    _, first = deliver(bot(workspace), views.ordinary())
    workspace.messages.clear()  # the first message was deleted: chat.update answers message_not_found
    _, outcome = deliver(bot(workspace), views.ordinary(), thread=first.reference)
    assert outcome == Delivered(first.reference)
    assert workspace.server.requests[-1].path == "/api/chat.update"


def test_a_test_message_never_joins_a_thread(workspace: Slack) -> None:
    payload, outcome = deliver(bot(workspace), views.test_message(), thread="C0ALERTS:1.000001")
    assert payload.update is None and "thread_ts" not in payload.message
    assert isinstance(outcome, Delivered) and len(workspace.server.requests) == 1


@pytest.mark.parametrize(("config", "code"), [
    ({"token": "xoxb-wrong"}, "invalid_auth"),
    ({"channel": "#nowhere"}, "channel_not_found"),
    ({"channel": "#other"}, "not_in_channel"),
])
def test_bot_configuration_errors_are_permanent(workspace: Slack, config: dict[str, str], code: str) -> None:
    _, outcome = deliver(bot(workspace, **config), views.ordinary())
    assert isinstance(outcome, PermanentFailure)
    assert outcome.reason.startswith(f"chat.postMessage at 127.0.0.1: {code} (")  # with a hint what to do
    assert TOKEN not in outcome.reason and "xoxb" not in outcome.reason


@pytest.mark.parametrize(("reply", "expected", "after"), [
    (Reply(200, {"ok": False, "error": "ratelimited"}, {"Retry-After": "12"}), RetryLater, 12),
    (Reply(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "7"}), RetryLater, 7),
    (Reply(200, {"ok": False, "error": "fatal_error"}), RetryLater, None),
    (Reply(200, {"ok": False, "error": "internal_error"}), RetryLater, None),
    (Reply(200, {"ok": False, "error": "service_unavailable"}), RetryLater, None),
    (Reply(500, "oops"), RetryLater, None),
    (Reply(200, {"ok": False, "error": "account_inactive"}), PermanentFailure, None),
    (Reply(200, {"ok": False, "error": "token_revoked"}), PermanentFailure, None),
    (Reply(200, {"ok": False, "error": "is_archived"}), PermanentFailure, None),
    (Reply(200, {"ok": False, "error": "msg_too_long"}), PermanentFailure, None),
    (Reply(200, {"ok": False, "error": "invalid_blocks"}), PermanentFailure, None),
    (Reply(200, "<html>proxy</html>"), RetryLater, None),
])
def test_bot_answer_outcomes(workspace: Slack, reply: Reply, expected: type, after: float | None) -> None:
    workspace.server.script(reply)
    _, outcome = deliver(bot(workspace), views.ordinary())
    assert isinstance(outcome, expected), outcome
    if isinstance(outcome, RetryLater):
        assert outcome.after_seconds == after
    if isinstance(reply.body, dict):
        assert reply.body["error"] in outcome.reason
    assert TOKEN not in outcome.reason


def test_a_slow_api_times_out_as_retry_later(workspace: Slack) -> None:
    workspace.server.script(Reply(200, {"ok": True, "channel": "C0ALERTS", "ts": "1.1"}, delay=1.0))
    _, outcome = deliver(bot(workspace), views.ordinary(), timeout=0.2)
    assert isinstance(outcome, RetryLater) and "timed out" in outcome.reason


def test_config_takes_one_mode() -> None:
    model = registry.config_model("slack")
    with pytest.raises(ValueError):
        model.model_validate({"webhook_url": "https://hooks.slack.com/x", "bot_token": "xoxb-1", "channel": "#a"})
    with pytest.raises(ValueError):
        model.model_validate({"bot_token": "xoxb-1"})
    with pytest.raises(ValueError, match="empty"):
        model.model_validate({"bot_token": " ", "channel": "#a"})
    assert "xoxb-1" not in repr(model.model_validate({"bot_token": "xoxb-1", "channel": "#a"}))
