"""Discord notifier against a webhook stand-in: the exact embed, markdown escaped and mentions off, every embed
limit kept, and what each documented error answer becomes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

import pytest

from otelmon.alerting.notify import discord
from otelmon.alerting.notify.base import AlertView, Delivered, PermanentFailure, RetryLater
from tests.alerting.notify import views
from tests.alerting.notify.deliver_once import deliver
from tests.harness.vendor_server import Reply
from tests.harness.vendors.discord import DiscordStandIn, embed_problems, error, rate_limited

WEBHOOK_ID = "1180000000000000042"
TOKEN = "hT9-webhook_SECRET_token_7Qx"
KINDS = {"failure": views.ordinary(), "hostile": views.hostile(), "summary": views.summary(),
         "test": views.test_message(), "resolved": views.resolved()}


@pytest.fixture
def hook() -> Iterator[DiscordStandIn]:
    with DiscordStandIn(WEBHOOK_ID, TOKEN) as server:
        yield server


def config(url: str) -> discord.Config:
    return discord.Config(webhook_url=url)


def unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text, flags=re.DOTALL)


def user_texts(embed: dict) -> list[str]:
    """Every text of ``embed`` that carries user data (the Links field is OtelMon's own markup)."""
    fields = [field for field in embed["fields"] if field["name"] != "Links"]
    return ([embed["title"], embed["description"], embed["footer"]["text"]]
            + [text for field in fields for text in (field["name"], field["value"])])


TRACE = "https://grafana.example.com/explore?schemaVersion=1&panes=%7B%7D&orgId=1"
ORDINARY = {
    "embeds": [{
        "title": "FAILED airflow / billing\\_daily / load\\_invoices \\(+1 more in this trace\\)",
        "color": 0xD93025,
        "description": "ValueError: invoice 42 has no customer",
        "fields": [
            {"name": "Issue", "value": views.ONGOING_LINE, "inline": False},
            {"name": "Pipeline", "value": "airflow / billing\\_daily / load\\_invoices", "inline": False},
            {"name": "Run", "value": "scheduled\\_\\_2026-12-01T09:00:00+00:00, try 3", "inline": True},
            {"name": "When", "value": "2026-12-01 09:30:00.000 UTC, took 12.5 s", "inline": True},
            {"name": "Host", "value": "worker-1", "inline": True},
            {"name": "Owner", "value": "data-team", "inline": True},
            {"name": "Not alerted since the previous alert", "value": "3 repeats", "inline": False},
            {"name": "Last log lines", "value": "INFO loading 1200 invoices\nERROR invoice 42 has no customer",
             "inline": False},
            {"name": "Other failing steps: 1", "value": "• load\\_invoices › parse: KeyError: 'customer'",
             "inline": False},
            {"name": "Links", "value": f"[Open trace]({TRACE}) · [Failures dashboard]({views.FAILURES}) · "
                                       f"[Mute 24 h]({views.MUTE}) · [Acknowledge]({views.ACK})",
             "inline": False},
        ],
        "url": TRACE,
        "footer": {"text": "OtelMon alert 101 · fingerprint 0123456789abcdef"},
        "timestamp": "2026-12-01T09:30:00+00:00",
    }],
    "allowed_mentions": {"parse": []},
}


def test_an_alert_is_one_embed_posted_with_wait_true(hook: DiscordStandIn) -> None:
    _, outcome = deliver(discord, config(hook.webhook_url), views.ordinary())

    assert outcome == Delivered("1180000000000000001")  # the created message's id
    [request] = hook.requests
    assert (request.method, request.path, request.query) == ("POST", f"/api/webhooks/{WEBHOOK_ID}/{TOKEN}",
                                                             "wait=true")
    assert request.json() == ORDINARY


def test_a_thread_id_in_the_webhook_url_is_kept(hook: DiscordStandIn) -> None:
    _, outcome = deliver(discord, config(hook.webhook_url + "?thread_id=77"), views.ordinary())
    assert isinstance(outcome, Delivered)
    assert hook.requests[0].query == "thread_id=77&wait=true"


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_is_escaped_mentions_off_and_within_every_limit(hook: DiscordStandIn, kind: str) -> None:
    payload, outcome = deliver(discord, config(hook.webhook_url), KINDS[kind])

    assert isinstance(outcome, Delivered), outcome  # the stand-in checks Discord's embed limits
    [embed] = payload["embeds"]
    assert embed_problems(embed) == [] and discord.embed_chars(embed) <= 6000
    assert payload["allowed_mentions"] == {"parse": []}
    for text in user_texts(embed):
        assert discord.escape(unescape(text)) == text, text  # no markdown character left unescaped


def test_hostile_text_reads_literally_and_pings_nobody() -> None:
    payload = discord.build(config("https://discord.com/api/webhooks/1/x"), None, "t").render(views.hostile(), None)
    [embed] = payload["embeds"]

    assert unescape(embed["title"]) == f"FAILED {views.HOSTILE}"
    assert unescape(embed["description"]).startswith(f"{views.HOSTILE}: {views.HOSTILE} 失敗しました")
    fields = {field["name"]: field["value"] for field in embed["fields"]}
    assert unescape(fields["Host"]) == views.HOSTILE
    assert "\\@everyone" in embed["title"] and "\\<\\@U123\\>" in embed["title"]
    assert fields["Other failing steps: 50"].endswith("…and 45 more")
    assert len(embed["description"]) <= 1500


def test_a_summary_lists_the_top_rows() -> None:
    payload = discord.build(config("https://discord.com/api/webhooks/1/x"), None, "t").render(views.summary(), None)
    [embed] = payload["embeds"]
    lines = embed["description"].split("\n")
    assert lines[0] == "Most frequent of the held-back failures:"
    assert lines[1].startswith("• 100× airflow / dag\\_0 / task: IOError: disk full \\<b\\>bold\\</b\\>")
    assert len(lines) == 12 and lines[-1] == "…and 52 more kinds"
    assert embed["fields"] == [{"name": "Links", "value": "[Failures dashboard](https://grafana.example.com/d/otelmon-failures)",
                                "inline": False}]


WHERE = "127.0.0.1"


@pytest.mark.parametrize(("reply", "expected"), [
    (error(404, "Unknown Webhook", 10015), PermanentFailure(f"HTTP 404 from {WHERE}: Unknown Webhook (code 10015)")),
    (error(401, "Invalid Webhook Token", 50027),
     PermanentFailure(f"HTTP 401 from {WHERE}: Invalid Webhook Token (code 50027)")),
    (Reply(400, {"message": "Invalid Form Body", "code": 50035, "errors": {}}),
     PermanentFailure(f"HTTP 400 from {WHERE}: Invalid Form Body (code 50035)")),
    (rate_limited(0.35), RetryLater(f"HTTP 429 from {WHERE}: You are being rate limited.", 0.35)),
    (rate_limited(2.5, is_global=True),
     RetryLater(f"HTTP 429 from {WHERE}: You are being rate limited. (global)", 2.5)),
    (Reply(429, "", headers={"Retry-After": "3"}), RetryLater(f"HTTP 429 from {WHERE}", 3.0)),
    (Reply(500, {"message": "500: Internal Server Error", "code": 0}),
     RetryLater(f"HTTP 500 from {WHERE}: 500: Internal Server Error (code 0)")),
    (Reply(502, "<html>Bad Gateway</html>"), RetryLater(f"HTTP 502 from {WHERE}: <html>Bad Gateway</html>")),
], ids=["unknown-webhook", "bad-token", "invalid-form", "429", "429-global", "429-header-only", "500", "502"])
def test_each_documented_error_maps_to_its_outcome(hook: DiscordStandIn, reply: Reply, expected: object) -> None:
    hook.script(reply)
    _, outcome = deliver(discord, config(hook.webhook_url), views.ordinary())
    assert outcome == expected


def test_a_deleted_webhook_fails_at_once_without_its_secrets(hook: DiscordStandIn) -> None:
    _, gone = deliver(discord, config(f"{hook.url}/api/webhooks/1180000000000000099/{TOKEN}"), views.ordinary())
    _, wrong = deliver(discord, config(f"{hook.url}/api/webhooks/{WEBHOOK_ID}/not-the-token"), views.ordinary())
    assert gone == PermanentFailure(f"HTTP 404 from {WHERE}: Unknown Webhook (code 10015)")
    assert wrong == PermanentFailure(f"HTTP 401 from {WHERE}: Invalid Webhook Token (code 50027)")


def test_without_wait_a_204_is_delivered_without_reference(hook: DiscordStandIn) -> None:
    hook.script(Reply(204))
    _, outcome = deliver(discord, config(hook.webhook_url), views.ordinary())
    assert outcome == Delivered(None)


def test_a_slow_webhook_is_a_retry_without_secrets(hook: DiscordStandIn) -> None:
    hook.script(Reply(delay=1.0))
    _, outcome = deliver(discord, config(hook.webhook_url), views.ordinary(), timeout=0.2)
    assert outcome == RetryLater(f"timed out talking to {WHERE} (ReadTimeout)")
    assert TOKEN not in outcome.reason and WEBHOOK_ID not in outcome.reason


def test_an_embed_over_6000_characters_steps_down_to_less_detail(hook: DiscordStandIn) -> None:
    wide = "失" * 5000
    base = views.hostile()
    head = {**base.head, **dict.fromkeys(("platform", "group", "process", "run_id", "host", "error_message"), wide),
            "log_lines": [wide] * 50}
    view = replace(base, head=head, labels={**base.labels, "owner": wide},
                   causes=[{**cause, "process": wide, "error_message": wide} for cause in base.causes])
    assert discord.embed_chars(discord.embed_of(view, discord.DETAILS[0])) > 6000

    payload, outcome = deliver(discord, config(hook.webhook_url), view)

    assert isinstance(outcome, Delivered), outcome
    [embed] = payload["embeds"]
    assert discord.embed_chars(embed) <= 6000 and embed_problems(embed) == []
    assert [field["name"] for field in embed["fields"]][:4] == ["Issue", "Pipeline", "Run", "When"]


def test_the_issue_line_is_the_first_field_escaped_and_counted_only_with_an_issue() -> None:
    def fields_of(view: AlertView) -> list[dict]:
        return discord.embed_of(view, discord.DETAILS[0])["fields"]

    assert fields_of(views.regressed())[0] == {"name": "Issue", "value": views.REGRESSED_LINE, "inline": False}
    paris = fields_of(views.in_paris(views.ordinary()))[0]["value"]
    assert "UTC \\(2026-11-28 07:00:00 CET\\)" in paris and unescape(paris) == views.ONGOING_LINE_PARIS
    assert fields_of(views.without_issue()) == fields_of(views.ordinary())[1:]
    with_issue, without = (discord.embed_of(view, discord.DETAILS[0]) for view in (views.ordinary(),
                                                                                  views.without_issue()))
    assert discord.embed_chars(with_issue) - discord.embed_chars(without) == len("Issue") + len(views.ONGOING_LINE)


MASKED_LINK = re.compile(r"\[([^\[\]]+)\]\(([^()\s<>]+)\)")


def links_of(embed: dict) -> dict[str, str]:
    """Label -> URL of the Links field, which must be nothing but masked links joined by " · "."""
    [value] = [field["value"] for field in embed["fields"] if field["name"] == "Links"] or [""]
    parts = value.split(" · ") if value else []
    matches = [MASKED_LINK.fullmatch(part) for part in parts]
    assert all(matches), value  # a URL character that ended a link early would leave text outside one
    return {match[1]: match[2] for match in matches if match}


def test_action_links_are_masked_links_that_markup_characters_cannot_end(hook: DiscordStandIn) -> None:
    payload, outcome = deliver(discord, config(hook.webhook_url), views.markup_links())
    assert isinstance(outcome, Delivered), outcome
    sent = views.MARKUP_SENT.replace("(", "%28").replace(")", "%29")
    assert links_of(payload["embeds"][0]) == {"Open trace": TRACE, "Failures dashboard": views.FAILURES,
                                              "Mute 24 h": f"{sent}/mute?x=1&y=2", "Acknowledge": f"{sent}/ack"}


@pytest.mark.parametrize("view", [views.without_actions(), views.resolved()], ids=["no-actions", "resolved"])
def test_no_action_links_without_them_or_after_recovery(hook: DiscordStandIn, view: AlertView) -> None:
    payload, _ = deliver(discord, config(hook.webhook_url), view)
    assert list(links_of(payload["embeds"][0])) == ["Open trace", "Failures dashboard"]
