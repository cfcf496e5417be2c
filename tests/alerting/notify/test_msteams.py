"""Microsoft Teams notifier against a Workflows stand-in (tests/harness/vendors/msteams.py): exact bodies, cards
valid against the published Adaptive Card schema (tests/alerting/notify/schemas/), escaping, the size limit,
every error's outcome, and no part of the secret URL in any reason."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from otelmon.alerting.notify import msteams, registry
from otelmon.alerting.notify.base import AlertView, Delivered, NotifyContext, Outcome, PermanentFailure, RetryLater
from otelmon.alerting.notify.http import new_client
from otelmon.config import Settings
from tests.alerting.notify import views
from tests.harness.vendor_server import Reply
from tests.harness.vendors.msteams import FLOW_ID, PATH, SIGNATURE, SIZE_LIMIT, Workflows

SCHEMA_FILE = Path(__file__).parent / "schemas" / "adaptive-card-1.5.json"
SCHEMA_SHA256 = "32c91fb285180a266a55b3475dd0396e63fe079311714d3a14963b41f5e17920"
KINDS = {"failure": views.ordinary, "hostile": views.hostile, "summary": views.summary,
         "test": views.test_message, "resolved": views.resolved}
MARKUP = set("\\`*_{}[]()<>#~!|&")


@pytest.fixture(scope="module")
def card_schema() -> jsonschema.Validator:
    raw = SCHEMA_FILE.read_bytes()
    assert hashlib.sha256(raw).hexdigest() == SCHEMA_SHA256, "the vendored schema changed: update schemas/README.md"
    schema = json.loads(raw)
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


@pytest.fixture
def flow() -> Iterator[Workflows]:
    with Workflows() as stand_in:
        yield stand_in


def config(url: str) -> msteams.Config:
    return registry.config_model("msteams").model_validate({"webhook_url": url})


def deliver(url: str, view: AlertView, timeout: float | None = None) -> tuple[dict[str, Any], Outcome]:
    async def go() -> tuple[dict[str, Any], Outcome]:
        async with new_client() as http:
            if timeout is not None:
                http.timeout = httpx.Timeout(timeout)
            notifier = registry.build("msteams", config(url), NotifyContext(Settings(), http), "data-team")
            payload = notifier.render(view, "ignored-thread")
            return payload, await notifier.send(payload)
    return asyncio.run(go())


def text_blocks(card: dict[str, Any]) -> list[str]:
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "TextBlock":
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)
    walk(card["body"])
    return found


def unescaped_markup(text: str) -> list[str]:
    """Markdown characters in ``text`` not escaped by a backslash."""
    bare, escaped = [], False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in MARKUP:
            bare.append(char)
    return bare


def shown(text: str) -> str:
    """What a CommonMark renderer shows for escaped ``text``."""
    return re.sub(r"\\(.)", r"\1", text)


def test_the_workflow_gets_the_message_envelope_with_the_card(flow: Workflows) -> None:
    payload, outcome = deliver(flow.webhook_url, views.ordinary())
    assert outcome == Delivered(None)
    [request] = flow.server.requests
    assert request.path == PATH and f"sig={SIGNATURE}" in request.query
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    body = request.json()
    assert body == payload
    assert body["type"] == "message" and len(body["attachments"]) == 1
    attachment = body["attachments"][0]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive" and attachment["contentUrl"] is None
    card = attachment["content"]
    assert flow.cards == [card]
    assert (card["$schema"], card["type"], card["version"]) == (
        "http://adaptivecards.io/schemas/adaptive-card.json", "AdaptiveCard", "1.4")
    title = card["body"][0]
    assert title["style"] == "attention"
    assert title["items"][0]["text"] == r"FAILED airflow / billing\_daily / load\_invoices \(+1 more in this trace\)"
    facts = {fact["title"]: fact["value"] for fact in card["body"][1]["facts"]}
    assert facts["Platform"] == "airflow" and facts["Error type"] == "ValueError" and facts["Duration"] == "12.5 s"
    assert facts["Run"] == r"scheduled\_\_2026-12-01T09:00:00+00:00 \(try 3\)"
    texts = text_blocks(card)
    assert texts[2] == views.ONGOING_LINE  # under the title and its time
    assert texts[3:] == ["Error", "invoice 42 has no customer", "Last 2 log lines", "INFO loading 1200 invoices",
                         "ERROR invoice 42 has no customer", "Also failing in this trace",
                         r"**load\_invoices › parse** · KeyError: 'customer'",
                         "2 failing steps in this alert · 3 repeats not alerted since the previous alert"]
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "Open trace", "url": views.TRACE},
        {"type": "Action.OpenUrl", "title": "Failures dashboard", "url": views.FAILURES},
        {"type": "Action.OpenUrl", "title": "Mute 24 h", "url": views.MUTE},
        {"type": "Action.OpenUrl", "title": "Acknowledge", "url": views.ACK}]


# What RFC 3986 allows in a URL (the card schema's "uri" format), escapes included.
URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*")


def test_action_links_are_open_url_actions_with_valid_urls(flow: Workflows, card_schema: jsonschema.Validator) -> None:
    payload, outcome = deliver(flow.webhook_url, views.markup_links())
    assert outcome == Delivered(None), outcome
    card = payload["attachments"][0]["content"]
    card_schema.validate(card)
    assert {action["title"]: action["url"] for action in card["actions"]} == {
        "Open trace": views.TRACE, "Failures dashboard": views.FAILURES,
        "Mute 24 h": f"{views.MARKUP_SENT}/mute?x=1&y=2", "Acknowledge": f"{views.MARKUP_SENT}/ack"}
    assert all(URI.fullmatch(action["url"]) for action in card["actions"])
    assert not any("otelmon.example.com" in text for text in text_blocks(card))


@pytest.mark.parametrize("view", [views.without_actions, views.resolved], ids=["no-actions", "resolved"])
def test_no_action_links_without_them_or_after_recovery(flow: Workflows, view: Any) -> None:
    payload, _ = deliver(flow.webhook_url, view())
    actions = payload["attachments"][0]["content"]["actions"]
    assert [action["title"] for action in actions] == ["Open trace", "Failures dashboard"]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_is_a_valid_card_within_the_size_limit(flow: Workflows, card_schema: jsonschema.Validator,
                                                          kind: str) -> None:
    payload, outcome = deliver(flow.webhook_url, KINDS[kind]())
    assert outcome == Delivered(None), outcome
    card = payload["attachments"][0]["content"]
    errors = [f"{list(error.absolute_path)}: {error.message[:200]}" for error in card_schema.iter_errors(card)]
    assert errors == []
    assert len(msteams.encoded(payload)) <= msteams.MAX_BYTES
    assert flow.server.requests[0].body == msteams.encoded(payload)  # the size measured is the size sent


def test_the_schema_check_can_fail(card_schema: jsonschema.Validator) -> None:
    card = msteams.render_message(views.ordinary())["attachments"][0]["content"]
    assert not list(card_schema.iter_errors(card))
    card["msteams"] = {"width": "Full"}
    assert list(card_schema.iter_errors(card))
    card.pop("msteams")
    card["body"][2]["txt"] = card["body"][2].pop("text")
    assert list(card_schema.iter_errors(card))


def test_hostile_text_is_escaped_and_shows_literally() -> None:
    card = msteams.render_message(views.hostile())["attachments"][0]["content"]
    facts = card["body"][1]["facts"]
    assert shown(facts[0]["value"]) == views.HOSTILE
    for fact in facts:
        assert unescaped_markup(fact["value"]) == [], fact
    texts = text_blocks(card)
    message = texts[texts.index("Error") + 1]
    assert unescaped_markup(message) == []
    assert views.hostile().head["error_message"].startswith(shown(message)[:-1]) and message.endswith("…")
    for text in texts:
        # our own **bold** around a cause's step is the only markup left, and it is balanced
        assert unescaped_markup(text.replace("**", "")) == [], text[:200]
        assert "{{" not in text  # no {{DATE(...)}} / {{TIME(...)}} function can be formed
    assert unescaped_markup(card["fallbackText"]) == []


def test_list_markers_only_count_at_a_line_start() -> None:
    assert msteams.escape("- a\n1. b\n  + c\n12.5 s -x") == "\\- a\n1\\. b\n  \\+ c\n12.5 s -x"


def test_a_card_too_large_is_shortened_to_fit() -> None:
    view = views.hostile()
    full = msteams.render_message(view, max_bytes=10**9)
    fitted = msteams.render_message(view, max_bytes=8000)
    assert len(msteams.encoded(full)) > 8000 >= len(msteams.encoded(fitted))
    texts = text_blocks(fitted["attachments"][0]["content"])
    assert "Error" in texts and texts[texts.index("Error") + 1].endswith("…")
    assert fitted["attachments"][0]["content"]["actions"][0]["url"] == views.TRACE  # the link to the rest stays


def test_the_stand_in_refuses_what_teams_refuses(flow: Workflows) -> None:
    async def go() -> list[httpx.Response]:
        async with httpx.AsyncClient() as http:
            return [await http.post(flow.webhook_url, content=b"x" * (SIZE_LIMIT + 1),
                                    headers={"content-type": "application/json"}),
                    await http.post(flow.webhook_url, json={"type": "AdaptiveCard", "body": []}),
                    await http.post(flow.webhook_url.replace(SIGNATURE, ""), json={})]
    too_large, wrong_shape, unsigned = asyncio.run(go())
    assert too_large.status_code == 413 and wrong_shape.status_code == 400 and unsigned.status_code == 401
    assert flow.cards == []


def secret_free(reason: str) -> bool:
    return FLOW_ID not in reason and SIGNATURE not in reason and "/workflows" not in reason and "sig=" not in reason


def test_a_deleted_workflow_fails_at_once(flow: Workflows) -> None:
    _, outcome = deliver(flow.webhook_url.replace(FLOW_ID, "0" * 32), views.ordinary())
    assert outcome == PermanentFailure(
        "HTTP 404 from 127.0.0.1: WorkflowNotFound (the workflow was deleted or its URL is wrong)")
    assert len(flow.server.requests) == 1


def test_a_wrong_signature_is_permanent_and_not_shown(flow: Workflows) -> None:
    _, outcome = deliver(flow.webhook_url.replace(SIGNATURE, "Zq8sigWRONGwrongWRONGwrong"), views.ordinary())
    assert isinstance(outcome, PermanentFailure) and "DirectApiInvalidAuthorizationSignature" in outcome.reason
    assert secret_free(outcome.reason) and "WRONG" not in outcome.reason


@pytest.mark.parametrize(("reply", "expected", "after"), [
    (Reply(429, {"error": {"code": "TooManyRequests", "message": "x"}}, {"Retry-After": "20"}), RetryLater, 20),
    (Reply(500, {"error": {"code": "InternalServerError", "message": "x"}}), RetryLater, None),
    (Reply(502, "Bad Gateway"), RetryLater, None),
    (Reply(503, "", {"Retry-After": "5"}), RetryLater, 5),
    (Reply(413, {"error": {"code": "RequestEntityTooLarge", "message": "x"}}), PermanentFailure, None),
    (Reply(400, {"error": {"code": "TriggerInputSchemaMismatch", "message": "x"}}), PermanentFailure, None),
    (Reply(403, f"forbidden for workflows/{FLOW_ID}"), PermanentFailure, None),
    (Reply(200, ""), Delivered, None),
])
def test_answer_outcomes(flow: Workflows, reply: Reply, expected: type, after: float | None) -> None:
    flow.server.script(reply)
    _, outcome = deliver(flow.webhook_url, views.ordinary())
    assert isinstance(outcome, expected), outcome
    if isinstance(outcome, RetryLater):
        assert outcome.after_seconds == after
    if not isinstance(outcome, Delivered):
        assert outcome.reason.startswith(f"HTTP {reply.status} from 127.0.0.1")
        assert secret_free(outcome.reason), outcome.reason
        if isinstance(reply.body, dict):
            assert reply.body["error"]["code"] in outcome.reason


def test_a_slow_workflow_times_out_as_retry_later(flow: Workflows) -> None:
    flow.server.script(Reply(202, None, delay=1.0))
    _, outcome = deliver(flow.webhook_url, views.ordinary(), timeout=0.2)
    assert isinstance(outcome, RetryLater) and outcome.reason.startswith("timed out talking to 127.0.0.1")


def test_kinds_say_what_they_are() -> None:
    def card(view: AlertView) -> dict[str, Any]:
        return msteams.render_message(view)["attachments"][0]["content"]
    resolved = card(views.resolved())
    assert resolved["body"][0]["style"] == "good" and text_blocks(resolved)[0].startswith("RECOVERED")
    assert "Last error" in text_blocks(resolved) and not any("log lines" in t for t in text_blocks(resolved))
    test = card(views.test_message())
    assert test["body"][0]["style"] == "accent" and "reach this channel" in text_blocks(test)[2]
    assert "actions" not in test
    summary = text_blocks(card(views.summary()))
    assert summary[2] == "**250 failures held back (over 20 alerts a minute).** Most frequent:"
    assert summary[3].startswith(r"**airflow / dag\_0 / task** ×100: IOError disk full \<b\>bold")
    assert summary[-1] == f"…and {50 - msteams.SUMMARY_ROWS + 12} more"


def test_times_are_also_shown_in_the_display_timezone() -> None:
    view = AlertView(**{**views.ordinary().__dict__, "display_timezone": "Europe/Paris"})
    card = msteams.render_message(view)["attachments"][0]["content"]
    assert text_blocks(card)[1] == "2026-12-01 09:30:00.000 UTC (2026-12-01 10:30:00 CET)"


def test_the_issue_line_is_escaped_under_the_title_only_when_there_is_an_issue() -> None:
    def title_texts(view: AlertView) -> list[str]:
        return [item["text"] for item in msteams.render_message(view)["attachments"][0]["content"]["body"][0]["items"]]

    assert title_texts(views.regressed())[2] == views.REGRESSED_LINE
    paris = title_texts(views.in_paris(views.ordinary()))[2]
    assert unescaped_markup(paris) == [] and shown(paris) == views.ONGOING_LINE_PARIS
    assert len(title_texts(views.without_issue())) == len(title_texts(views.resolved())) == 2


def test_config_rejects_an_empty_url() -> None:
    with pytest.raises(ValueError, match="empty"):
        config("")
    assert "sig" not in repr(config("https://example.invalid/x?sig=abc"))
