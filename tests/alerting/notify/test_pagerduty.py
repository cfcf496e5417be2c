"""PagerDuty Events API v2 against a stand-in that follows its documented contract: the exact events sent,
trigger and resolve sharing the dedup_key, a hostile alert within PagerDuty's limits, and each answer's
outcome (PagerDuty's own 400 error text, 429, 5xx, timeouts) without the routing key in any reason."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from otelmon.alerting.notify import pagerduty
from otelmon.alerting.notify.base import AlertView, Delivered, NotifyContext, Outcome, PermanentFailure, RetryLater
from otelmon.alerting.notify.http import new_client
from otelmon.config import Settings
from tests.alerting.notify import views
from tests.harness.vendor_server import Reply
from tests.harness.vendors.pagerduty import MAX_EVENT_BYTES, PagerDutyStandIn, invalid

KEY = "R0UT1NGK3Y0123456789abcdefABCDEF"  # 32 characters, as PagerDuty's integration keys
GRAFANA = "http://grafana.example:3000"


@pytest.fixture
def pd():
    with PagerDutyStandIn() as server:
        yield server


def deliver(url: str, view: AlertView, key: str = KEY, thread: str | None = None,
            timeout: float | None = None) -> Outcome:
    async def run() -> Outcome:
        async with new_client() as http:
            if timeout is not None:
                http.timeout = httpx.Timeout(timeout)
            context = NotifyContext(settings=Settings(grafana_url=GRAFANA), http=http)
            notifier = pagerduty.build(pagerduty.Config(routing_key=key, url=url), context, "data-team")
            return await notifier.send(notifier.render(view, thread))
    return asyncio.run(run())


def rendered(view: AlertView) -> dict:
    context = NotifyContext(settings=Settings(grafana_url=GRAFANA), http=None)  # type: ignore[arg-type]
    return pagerduty.build(pagerduty.Config(routing_key=KEY), context, "data-team").render(view, None)


RUN = "scheduled__2026-12-01T09:00:00+00:00"
WHEN = "2026-12-01T09:30:00+00:00"
STEP = {"platform": "airflow", "group": "billing_daily", "run_id": RUN, "try_number": 3, "host": "worker-1",
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "trace_url": views.TRACE, "duration_seconds": 12.5,
        "start_time": WHEN, "end_time": WHEN}
ORDINARY_EVENT = {
    "routing_key": KEY,
    "event_action": "trigger",
    "dedup_key": "0123456789abcdef",
    "payload": {
        "summary": "FAILED airflow / billing_daily / load_invoices (+1 more in this trace)",
        "source": "worker-1",
        "severity": "error",
        "timestamp": WHEN,
        "component": "load_invoices",
        "group": "billing_daily",
        "class": "ValueError",
        "custom_details": {
            "kind": "failure", **STEP, "process": "load_invoices", "error_type": "ValueError",
            "error_message": "invoice 42 has no customer",
            "stack_lines": ["Traceback (most recent call last):", '  File "x.py", line 1'],
            "log_lines": ["INFO loading 1200 invoices", "ERROR invoice 42 has no customer"],
            "owner": "data-team", "tags": "billing,finance",
            "causes": [{**STEP, "process": "load_invoices › parse", "error_type": "KeyError",
                        "error_message": "'customer'"}],
            "issue": views.ONGOING_LINE, "failure_count": 2, "suppressed_since_last_alert": 3,
        },
    },
    "links": [{"href": views.TRACE, "text": "Open trace"}, {"href": views.FAILURES, "text": "Failures dashboard"},
              {"href": views.MUTE, "text": "Mute 24 h"}, {"href": views.ACK, "text": "Acknowledge"}],
    "client": "OtelMon",
    "client_url": "https://grafana.example.com/d/otelmon-failures",
}


def test_a_failure_triggers_with_the_fingerprint_as_dedup_key(pd: PagerDutyStandIn):
    outcome = deliver(pd.enqueue_url, views.ordinary())

    assert outcome == Delivered(reference="0123456789abcdef")
    [request] = pd.requests
    assert request.path == "/v2/enqueue" and request.headers["content-type"] == "application/json"
    assert json.loads(request.body) == ORDINARY_EVENT
    assert pd.events == [ORDINARY_EVENT]  # the stand-in accepted it against PagerDuty's schema


def test_the_issue_line_is_a_custom_detail_only_when_there_is_an_issue():
    assert rendered(views.regressed())["payload"]["custom_details"]["issue"] == views.REGRESSED_LINE
    paris = rendered(views.in_paris(views.ordinary()))["payload"]["custom_details"]["issue"]
    assert paris == views.ONGOING_LINE_PARIS
    assert "issue" not in rendered(views.without_issue())["payload"]["custom_details"]

def test_action_links_are_event_links_carried_as_given(pd: PagerDutyStandIn):
    assert deliver(pd.enqueue_url, views.markup_links()) == Delivered(reference="0123456789abcdef")
    assert deliver(pd.enqueue_url, views.without_actions()) == Delivered(reference="0123456789abcdef")
    marked, plain = pd.events  # both accepted against PagerDuty's schema
    assert marked["links"][2:] == [{"href": f"{views.MARKUP_SENT}/mute?x=1&y=2", "text": "Mute 24 h"},
                                   {"href": f"{views.MARKUP_SENT}/ack", "text": "Acknowledge"}]
    assert [link["text"] for link in plain["links"]] == ["Open trace", "Failures dashboard"]


def test_the_rendered_payload_holds_no_routing_key():
    assert KEY not in json.dumps(rendered(views.ordinary()))


def test_recovery_resolves_the_same_dedup_key(pd: PagerDutyStandIn):
    trigger = deliver(pd.enqueue_url, views.ordinary())
    resolve = deliver(pd.enqueue_url, views.resolved(), thread=trigger.reference)

    assert resolve == Delivered(reference="0123456789abcdef")
    assert pd.events[1] == {"routing_key": KEY, "event_action": "resolve", "dedup_key": "0123456789abcdef"}
    # without the earlier reference (a first delivery to this target) the key is the same fingerprint
    assert deliver(pd.enqueue_url, views.resolved()) == resolve
    assert pd.events[2] == pd.events[1]


def test_summaries_and_test_messages_have_keys_of_their_own(pd: PagerDutyStandIn):
    assert deliver(pd.enqueue_url, views.summary()) == Delivered(reference="otelmon-summary-103")
    assert deliver(pd.enqueue_url, views.test_message()) == Delivered(reference="otelmon-test-data-team")
    summary, test = pd.events
    details = summary["payload"]["custom_details"]
    assert len(details["held_back"]) == pagerduty.SUMMARY_ROWS_LISTED and details["more_rows"] == 50 - 20 + 12
    assert details["held_back"][0]["error_message"] == f"disk full {views.HOSTILE}"
    assert test["payload"]["severity"] == "info"
    assert test["payload"]["summary"] == "OtelMon test message: this receiver is set up"


def test_a_hostile_alert_stays_within_pagerdutys_limits(pd: PagerDutyStandIn):
    assert deliver(pd.enqueue_url, views.hostile()) == Delivered(reference="fedcba9876543210")

    [request] = pd.requests
    assert len(request.body) < MAX_EVENT_BYTES
    [event] = pd.events
    payload = event["payload"]
    assert len(payload["summary"]) <= 1024 and payload["summary"].startswith("FAILED <b>bold</b>")
    assert payload["component"] == payload["group"] == payload["source"] == views.HOSTILE  # verbatim in JSON
    details = json.dumps(payload["custom_details"], ensure_ascii=False, separators=(",", ":")).encode()
    assert len(details) <= pagerduty.DETAILS_BYTES
    assert payload["custom_details"]["error_message"].startswith(views.HOSTILE[:10])
    assert payload["custom_details"]["error_message"].endswith("…")
    assert len(payload["custom_details"]["causes"]) == pagerduty.CAUSES_LISTED
    assert payload["custom_details"]["more_causes"] == 30 + 20 - pagerduty.CAUSES_LISTED


def test_an_invalid_event_fails_at_once_with_pagerdutys_words(pd: PagerDutyStandIn):
    short_key = KEY[:31]
    outcome = deliver(pd.enqueue_url, views.ordinary(), key=short_key)

    assert outcome == PermanentFailure("HTTP 400 from 127.0.0.1: Event object is invalid: "
                                       "Length of 'routing_key' is incorrect (should be 32 characters)")
    assert pd.events == []


def test_an_answer_echoing_the_routing_key_is_masked(pd: PagerDutyStandIn):
    pd.script(invalid(f"routing_key {KEY} is not known"))
    outcome = deliver(pd.enqueue_url, views.ordinary())
    assert isinstance(outcome, PermanentFailure)
    assert KEY not in outcome.reason and "routing_key *** is not known" in outcome.reason


@pytest.mark.parametrize(("reply", "kind", "after"), [
    (Reply(429, b""), RetryLater, None),  # PagerDuty sends no Retry-After: delivery's backoff decides
    (Reply(500, {"status": "error", "message": "Internal Server Error"}), RetryLater, None),
    (Reply(502, b"<html>Bad Gateway</html>"), RetryLater, None),
    (Reply(403, {"status": "Forbidden", "message": "Forbidden"}), PermanentFailure, None),
])
def test_answers_map_to_outcomes(pd: PagerDutyStandIn, reply: Reply, kind: type, after: float | None):
    pd.script(reply)
    outcome = deliver(pd.enqueue_url, views.ordinary())
    assert isinstance(outcome, kind) and f"HTTP {reply.status} from 127.0.0.1" in outcome.reason
    if kind is RetryLater:
        assert outcome.after_seconds == after
    assert KEY not in outcome.reason


def test_a_wrong_url_fails_at_once(pd: PagerDutyStandIn):
    outcome = deliver(pd.url + "/v1/enqueue", views.ordinary())
    assert isinstance(outcome, PermanentFailure) and outcome.reason.startswith("HTTP 404 from 127.0.0.1")


def test_a_slow_pagerduty_is_retried(pd: PagerDutyStandIn):
    pd.script(Reply(202, {"status": "success"}, delay=2.0))
    outcome = deliver(pd.enqueue_url, views.ordinary(), timeout=0.3)
    assert isinstance(outcome, RetryLater) and "timed out talking to 127.0.0.1" in outcome.reason
