"""The generic webhook against a receiver written for Alertmanager: the exact body (Alertmanager v0.28.1's
version 4 message, checked against the schema derived from its Go structs), the signature, resolved alerts,
a hostile alert, and how each answer maps to an outcome."""

from __future__ import annotations

import asyncio
import json

import httpx
import jsonschema
import pytest

from otelmon.alerting.notify import webhook
from otelmon.alerting.notify.base import AlertView, Delivered, NotifyContext, Outcome, PermanentFailure, RetryLater
from otelmon.alerting.notify.http import new_client
from otelmon.config import Settings
from tests.alerting.notify import views
from tests.harness.vendor_server import Reply
from tests.harness.vendors.webhook import SCHEMA, AlertmanagerReceiver, signature_ok

SECRET = "s3cr3t-hmac-key-for-tests"
TOKEN = "0f8e7d6c5b4a39281706f5e4d3c2b1a0"
PUBLIC = "https://otelmon.example.com"


@pytest.fixture
def receiver():
    with AlertmanagerReceiver(path=f"/hooks/{TOKEN}", secret=SECRET) as server:
        yield server


def deliver(url: str, view: AlertView, secret: str | None = SECRET, timeout: float | None = None) -> Outcome:
    async def run() -> Outcome:
        async with new_client() as http:
            if timeout is not None:
                http.timeout = httpx.Timeout(timeout)
            context = NotifyContext(settings=Settings(public_url=PUBLIC), http=http)
            notifier = webhook.build(webhook.Config(url=url, secret=secret), context, "data-team")
            return await notifier.send(notifier.render(view, None))
    return asyncio.run(run())


def render(view: AlertView) -> dict:
    context = NotifyContext(settings=Settings(public_url=PUBLIC), http=None)  # type: ignore[arg-type]
    return webhook.build(webhook.Config(url="http://unused.example/"), context, "data-team").render(view, None)


TRACE = views.TRACE
RUN = "scheduled__2026-12-01T09:00:00+00:00"
LINKS = {"failures_url": views.FAILURES, "mute_url": views.MUTE, "ack_url": views.ACK}
ORDINARY_BODY = {
    "receiver": "data-team",
    "status": "firing",
    "alerts": [
        {"status": "firing",
         "labels": {"alertname": "OtelMonFailure", "platform": "airflow", "group": "billing_daily",
                    "process": "load_invoices", "error_type": "ValueError", "owner": "data-team",
                    "tags": "billing,finance"},
         "annotations": {"summary": "FAILED airflow / billing_daily / load_invoices (+1 more in this trace)",
                         "description": "invoice 42 has no customer", "trace_url": TRACE, "run_id": RUN,
                         "try_number": "3", "issue": views.ONGOING_LINE, "issue_state": "ongoing",
                         "failing_since": "2026-11-28T06:00:00Z", "consecutive_failed_runs": "4", **LINKS},
         "startsAt": "2026-12-01T09:30:00Z", "endsAt": "0001-01-01T00:00:00Z", "generatorURL": TRACE,
         "fingerprint": "0123456789abcdef"},
        {"status": "firing",
         "labels": {"alertname": "OtelMonFailure", "platform": "airflow", "group": "billing_daily",
                    "process": "load_invoices › parse", "error_type": "KeyError", "owner": "data-team",
                    "tags": "billing,finance"},
         "annotations": {"summary": "FAILED airflow / billing_daily / load_invoices › parse",
                         "description": "'customer'", "trace_url": TRACE, "run_id": RUN, "try_number": "3",
                         **LINKS},
         "startsAt": "2026-12-01T09:30:00Z", "endsAt": "0001-01-01T00:00:00Z", "generatorURL": TRACE,
         "fingerprint": "0123456789abcdef"},
    ],
    "groupLabels": {"alertname": "OtelMonFailure", "platform": "airflow", "group": "billing_daily"},
    "commonLabels": {"alertname": "OtelMonFailure", "platform": "airflow", "group": "billing_daily",
                     "owner": "data-team", "tags": "billing,finance"},
    "commonAnnotations": {"trace_url": TRACE, "run_id": RUN, "try_number": "3", **LINKS},
    "externalURL": PUBLIC,
    "version": "4",
    "groupKey": "otelmon/data-team:0123456789abcdef",
    "truncatedAlerts": 0,
}


def test_the_body_is_alertmanagers_version_4_message_signed(receiver: AlertmanagerReceiver):
    outcome = deliver(receiver.hook_url, views.ordinary())

    assert outcome == Delivered()
    [request] = receiver.requests
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.body) == ORDINARY_BODY
    jsonschema.validate(json.loads(request.body), SCHEMA)
    # Go's encoder: compact, HTML-safe escapes, a trailing newline; the signature covers exactly these bytes
    assert request.body.endswith(b"}\n") and b"\\u0026panes=" in request.body and b"&" not in request.body
    assert signature_ok(SECRET, request.body, request.headers["x-otelmon-signature"])
    assert not signature_ok("another secret", request.body, request.headers["x-otelmon-signature"])
    assert receiver.messages == [ORDINARY_BODY]


ISSUE_KEYS = {"issue", "issue_state", "failing_since", "consecutive_failed_runs"}


def test_the_head_alert_carries_its_issue_as_annotations():
    body = render(views.regressed())
    jsonschema.validate(body, SCHEMA)
    head, cause = body["alerts"]
    assert {key: head["annotations"][key] for key in ISSUE_KEYS} == {
        "issue": views.REGRESSED_LINE, "issue_state": "regressed", "failing_since": "2026-12-01T09:30:00Z",
        "consecutive_failed_runs": "1"}
    assert not ISSUE_KEYS & set(cause["annotations"])  # the other steps' issues are their own
    assert render(views.in_paris(views.ordinary()))["alerts"][0]["annotations"]["issue"] == views.ONGOING_LINE_PARIS
    for view in (views.without_issue(), views.resolved()):
        assert not ISSUE_KEYS & {key for alert in render(view)["alerts"] for key in alert["annotations"]}


def test_action_links_are_annotations_of_every_alert_carried_as_given(receiver: AlertmanagerReceiver):
    assert deliver(receiver.hook_url, views.markup_links()) == Delivered()
    assert deliver(receiver.hook_url, views.without_actions()) == Delivered()
    assert deliver(receiver.hook_url, views.resolved()) == Delivered()
    marked, plain, resolved = (json.loads(request.body) for request in receiver.requests)
    for body in (marked, plain, resolved):
        jsonschema.validate(body, SCHEMA)  # annotations are free-form strings
    expected = {"mute_url": f"{views.MARKUP_SENT}/mute?x=1&y=2", "ack_url": f"{views.MARKUP_SENT}/ack"}
    assert all(alert["annotations"].items() >= expected.items() for alert in marked["alerts"])
    assert marked["commonAnnotations"].items() >= expected.items()
    # Go's encoder escapes & < > inside strings: the body holds none of them raw
    assert not {b"&", b"<", b">"} & {bytes([c]) for c in receiver.requests[0].body}
    for body in (plain, resolved):
        assert not {"mute_url", "ack_url"} & {key for alert in body["alerts"] for key in alert["annotations"]}
        assert body["commonAnnotations"]["failures_url"] == views.FAILURES


def test_the_schema_has_exactly_the_go_structs_fields():
    # template.Data + webhook.Message (v0.28.1), template.Alert: every field always encoded (no omitempty)
    assert set(SCHEMA["required"]) == set(SCHEMA["properties"]) == {
        "receiver", "status", "alerts", "groupLabels", "commonLabels", "commonAnnotations", "externalURL",
        "version", "groupKey", "truncatedAlerts"}
    alert = SCHEMA["$defs"]["alert"]
    assert set(alert["required"]) == set(alert["properties"]) == {
        "status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"}
    assert "b2099eaa2c9ebc25edb26517cb9c732738e93910" in SCHEMA["$comment"]
    with pytest.raises(jsonschema.ValidationError):  # the schema is strict: an unknown field fails
        jsonschema.validate({**ORDINARY_BODY, "extra": 1}, SCHEMA)


def test_without_a_secret_there_is_no_signature():
    with AlertmanagerReceiver(path=f"/hooks/{TOKEN}") as plain:
        assert deliver(plain.hook_url, views.ordinary(), secret=None) == Delivered()
    assert "x-otelmon-signature" not in plain.requests[0].headers


def test_a_receiver_with_another_secret_refuses_at_once_and_the_reason_keeps_secrets(receiver: AlertmanagerReceiver):
    outcome = deliver(receiver.hook_url + "?token=query-secret-1234", views.ordinary(), secret="wrong-secret")

    assert isinstance(outcome, PermanentFailure) and "HTTP 401" in outcome.reason
    for secret in (TOKEN, "query-secret-1234", "wrong-secret", SECRET):
        assert secret not in outcome.reason


def test_resolved_alerts_carry_ends_at(receiver: AlertmanagerReceiver):
    assert deliver(receiver.hook_url, views.resolved()) == Delivered()

    [message] = receiver.messages
    assert message["status"] == "resolved"
    assert [alert["status"] for alert in message["alerts"]] == ["resolved", "resolved"]
    assert {alert["endsAt"] for alert in message["alerts"]} == {"2026-12-01T09:30:00Z"}
    assert message["alerts"][0]["annotations"]["summary"] == "RECOVERED airflow / billing_daily / load_invoices"
    # the same alert as when it fired: receivers pair them by fingerprint and groupKey
    assert message["alerts"][0]["fingerprint"] == ORDINARY_BODY["alerts"][0]["fingerprint"]
    assert message["groupKey"] == ORDINARY_BODY["groupKey"]


def test_a_hostile_alert_is_carried_verbatim_and_bounded(receiver: AlertmanagerReceiver):
    assert deliver(receiver.hook_url, views.hostile()) == Delivered()

    [request] = receiver.requests
    assert len(request.body) <= webhook.MAX_BODY_BYTES
    [message] = receiver.messages  # the receiver validated it against the schema
    head = message["alerts"][0]
    assert head["labels"]["platform"] == head["labels"]["owner"] == views.HOSTILE
    assert head["annotations"]["run_id"] == views.HOSTILE
    description = head["annotations"]["description"]
    assert description.startswith(views.HOSTILE + " 失敗しました") and description.endswith("…")
    assert len(description) == webhook.DESCRIPTION_CHARS
    # 1 head + 20 causes + 30 more: what is not listed is counted, as max_alerts does
    assert len(message["alerts"]) + message["truncatedAlerts"] == 51
    assert 1 < len(message["alerts"]) <= webhook.ALERTS_LISTED


def test_summary_and_test_messages():
    summary = render(views.summary())
    jsonschema.validate(json.loads(webhook.go_json(summary)), SCHEMA)
    assert summary["commonLabels"] == {"alertname": "OtelMonStormSummary", "platform": "airflow",
                                       "process": "task", "error_type": "IOError"}
    first = summary["alerts"][0]
    assert first["labels"]["group"] == "dag_0" and first["annotations"]["count"] == "100"
    assert first["fingerprint"] == webhook.label_fingerprint(first["labels"])
    assert len(summary["alerts"]) == webhook.ALERTS_LISTED and summary["truncatedAlerts"] == 50 - 20 + 12

    test = render(views.test_message())
    jsonschema.validate(json.loads(webhook.go_json(test)), SCHEMA)
    [alert] = test["alerts"]
    assert alert["labels"] == {"alertname": "OtelMonTest"}
    assert alert["annotations"]["summary"] == "OtelMon test message: this receiver is set up"
    assert test["groupKey"] == "otelmon/data-team:test-0"


def test_fingerprints_and_receiver_names_as_alertmanager_computes_them():
    # prometheus/common model/signature_test.go (labelSetToFingerprint), the version Alertmanager v0.28.1 uses
    assert webhook.label_fingerprint({}) == f"{14695981039346656037:016x}"
    assert webhook.label_fingerprint({"name": "garland, briggs", "fear": "love is not enough"}) == \
        f"{5799056148416392346:016x}"
    assert webhook.label_fingerprint({"first-label": "first-label-value", "second-label": "second-label-value",
                                      "third-label": "third-label-value"}) == f"{13843036195897128121:016x}"
    assert webhook.quote_meta("team.a+(b)") == r"team\.a\+\(b\)"  # Go's regexp.QuoteMeta, as Data.Receiver
    assert webhook.rfc3339(None) == "0001-01-01T00:00:00Z"
    assert webhook.rfc3339(views.WHEN.replace(microsecond=120000)) == "2026-12-01T09:30:00.12Z"


@pytest.mark.parametrize(("reply", "kind"), [
    (Reply(404, "gone"), PermanentFailure),
    (Reply(410, "gone"), PermanentFailure),
    (Reply(400, "bad"), PermanentFailure),
    (Reply(429, "slow down", {"Retry-After": "7"}), RetryLater),
    (Reply(500, "oops"), RetryLater),
    (Reply(503, "down"), RetryLater),
])
def test_answers_map_to_outcomes(receiver: AlertmanagerReceiver, reply: Reply, kind: type):
    receiver.script(reply)
    outcome = deliver(receiver.hook_url, views.ordinary())
    assert isinstance(outcome, kind) and f"HTTP {reply.status} from 127.0.0.1" in outcome.reason
    if reply.status == 429:
        assert outcome.after_seconds == 7
    assert len(receiver.requests) == 1


def test_a_deleted_hook_fails_at_once_without_its_path_in_the_reason(receiver: AlertmanagerReceiver):
    outcome = deliver(receiver.url + "/hooks/deleted-token-98765", views.ordinary())

    assert isinstance(outcome, PermanentFailure)
    assert outcome.reason.startswith("HTTP 404 from 127.0.0.1")
    assert "Cannot POST ***" in outcome.reason  # the page quoted the path; the reason does not
    assert "deleted-token-98765" not in outcome.reason


def test_a_slow_receiver_is_retried(receiver: AlertmanagerReceiver):
    receiver.script(Reply(200, delay=2.0))
    outcome = deliver(receiver.hook_url, views.ordinary(), timeout=0.3)
    assert isinstance(outcome, RetryLater) and "timed out talking to 127.0.0.1" in outcome.reason
    assert TOKEN not in outcome.reason
