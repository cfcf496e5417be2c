"""Faults across notification channels, through ``otelmon serve`` (both databases) with a receivers file: email to
aiosmtpd beside loopback stand-ins for Slack and Discord. One channel down, gone (404), slow, rate-limited, or
cut off by a crash never delays another channel nor repeats a message to a channel that already answered."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
import yaml
from sqlalchemy import select

from otelmon.config import Settings
from otelmon.storage.database import create_db_engine
from otelmon.storage.tables import Tables
from tests.harness.api_server import ApiServer
from tests.harness.smtp import SmtpSink
from tests.harness.vendor_server import Answered, Recorded, Reply
from tests.harness.vendors import discord as discord_vendor
from tests.harness.vendors.discord import DiscordStandIn
from tests.harness.vendors.slack import WEBHOOK_PATH, Slack
from tests.harness.waiting import wait_until

TOKEN = "channel-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
TEAM = "data-team@example.com"
DISCORD_ID, DISCORD_TOKEN = "1180000000000000042", "Zq8discordSecretTok"
SLACK_SECRET = WEBHOOK_PATH.rsplit("/", 1)[1]


@pytest.fixture
def slack() -> Iterator[Slack]:
    with Slack() as workspace:
        yield workspace


@pytest.fixture
def discord() -> Iterator[DiscordStandIn]:
    with DiscordStandIn(DISCORD_ID, DISCORD_TOKEN) as server:
        yield server


@pytest.fixture
def serve(start_api, database_url: str, smtp_sink: SmtpSink, tmp_path: Path) -> Callable[..., ApiServer]:
    """``otelmon serve`` on ``database_url`` with the receiver ``data-team`` (its targets given as the YAML
    file's integration lists) as the default route."""

    def start(targets: dict, **env: str) -> ApiServer:
        config = tmp_path / "notify.yaml"
        config.write_text(yaml.safe_dump({"receivers": [{"name": "data-team", **targets}],
                                          "default_receiver": "data-team"}))
        return start_api({
            "OTELMON_DATABASE_URL": database_url,
            "OTELMON_INGEST_TOKEN": TOKEN,
            "OTELMON_NOTIFY_CONFIG": str(config),
            "OTELMON_SMTP_HOST": "127.0.0.1",
            "OTELMON_SMTP_PORT": str(smtp_sink.port),
            "OTELMON_SMTP_MAIL_FROM": "otelmon@example.com",
            "OTELMON_ALERT_GROUP_WAIT_SECONDS": "0.1",
            "OTELMON_ALERT_BACKOFF_INITIAL_SECONDS": "0.2",
            "OTELMON_ALERT_BACKOFF_MAX_SECONDS": "1",
            "OTELMON_ALERT_POLL_SECONDS": "0.2",
            **env,
        })

    return start


def report(api: ApiServer, process: str = "load") -> float:
    """Report one failure; when (``time.monotonic()``) the report was accepted."""
    body = {"platform": "airflow", "group": "billing", "process": process, "run_id": f"run-{process}",
            "error_type": "ValueError", "error_message": "bad row"}
    response = httpx.post(f"{api.url}/api/v1/process-failure", json=body, headers=AUTH, timeout=10)
    assert response.status_code == 201, response.text
    return time.monotonic()


def alerts(api: ApiServer) -> list[dict]:
    return httpx.get(f"{api.url}/api/v1/alerts", headers=AUTH, timeout=10).raise_for_status().json()["items"]


def only_alert(api: ApiServer) -> dict | None:
    items = alerts(api)
    assert len(items) <= 1, items
    return items[0] if items else None


def deliveries(alert: dict) -> dict[str, dict]:
    return {d["integration"]: d for d in alert["deliveries"]}


def settled(api: ApiServer, state: str, timeout: float = 30) -> dict:
    return wait_until(lambda: (a := only_alert(api)) and a["state"] == state and a, timeout,
                      what=f"the alert to be {state}")


def metric(api: ApiServer, line: str) -> bool:
    return line in httpx.get(f"{api.url}/metrics", headers=AUTH, timeout=10).text.splitlines()


def test_one_channel_down_does_not_hold_back_or_repeat_the_others(serve, slack, discord, smtp_sink):
    slack_handler, discord_handler = Answered(slack.server), Answered(discord)
    slack.server.always(Reply(500, "internal_error"))
    # Retries 0.5-1 s apart at first: enough to see the others were not held back by even one of them.
    api = serve({"email": [TEAM], "slack": [{"webhook_url": slack.webhook_url}],
                 "discord": [{"webhook_url": discord.webhook_url}]},
                OTELMON_ALERT_BACKOFF_INITIAL_SECONDS="1", OTELMON_ALERT_BACKOFF_MAX_SECONDS="2")
    report(api)

    slack_tries = slack.server.wait_for(3)
    (email,) = smtp_sink.wait_for(1)
    (posted,) = discord.wait_for(1)
    assert email.arrived < slack_tries[1].arrived and posted.arrived < slack_tries[1].arrived
    assert email.arrived - slack_tries[0].arrived < 1 and posted.arrived - slack_tries[0].arrived < 1

    def down_and_retrying() -> dict | None:
        alert = only_alert(api)
        down = alert and deliveries(alert).get("slack")
        return alert if down and down["state"] == "pending" and down["attempts"] >= 3 else None

    alert = wait_until(down_and_retrying, what="the Slack delivery retried twice")
    by_channel = deliveries(alert)
    assert set(by_channel) == {"email", "slack", "discord"}
    assert alert["state"] in ("pending", "sending")
    assert "HTTP 500" in by_channel["slack"]["last_error"] and SLACK_SECRET not in by_channel["slack"]["last_error"]
    for answered in ("email", "discord"):
        assert by_channel[answered]["state"] == "sent" and by_channel[answered]["attempts"] == 1
        assert by_channel[answered]["last_error"] is None and by_channel[answered]["sent_at"] is not None
    assert "slack (data-team): HTTP 500" in alert["last_error"]

    slack.server.always(None)  # Slack is back
    alert = settled(api, "sent")
    assert [r.path for r in slack_handler.accepted] == [WEBHOOK_PATH]
    assert len(smtp_sink.received) == 1 and len(discord_handler.accepted) == len(discord.requests) == 1
    by_channel = deliveries(alert)
    assert {d["state"] for d in by_channel.values()} == {"sent"}
    assert by_channel["slack"]["attempts"] == len(slack.server.requests) and by_channel["slack"]["last_error"] is None
    assert alert["last_error"] is None


def test_a_deleted_webhook_fails_at_once_and_email_still_goes(serve, slack, smtp_sink):
    gone = slack.server.url + "/services/T0001/B0001/Gone404SecretPath"
    api = serve({"email": [TEAM], "slack": [{"webhook_url": gone}]})
    report(api)

    alert = settled(api, "failed")
    assert len(slack.server.requests) == 1 and len(smtp_sink.received) == 1
    by_channel = deliveries(alert)
    assert by_channel["email"]["state"] == "sent" and by_channel["email"]["attempts"] == 1
    failed = by_channel["slack"]
    assert failed["state"] == "failed" and failed["attempts"] == 1
    assert "HTTP 404" in failed["last_error"] and "no_service" in failed["last_error"]
    assert "Gone404SecretPath" not in failed["last_error"] and "Gone404SecretPath" not in alert["last_error"]
    wait_until(lambda: metric(api, 'otelmon_notifications_total{integration="slack",outcome="failed"} 1.0'),
               what="the failed Slack notification counted")
    assert metric(api, 'otelmon_notifications_total{integration="email",outcome="delivered"} 1.0')
    assert metric(api, "otelmon_alerts_failed_total 1.0")


SLOW = 2.0


def test_a_slow_channel_does_not_delay_email(serve, slack, smtp_sink):
    slack.server.always(Reply(200, "ok", {"content-type": "text/html"}, delay=SLOW))
    api = serve({"email": [TEAM], "slack": [{"webhook_url": slack.webhook_url}]})

    first_reported = report(api, "load")
    (first_post,) = slack.server.wait_for(1)
    # A second alert while the first one's Slack call is still waiting for its answer.
    second_reported = report(api, "transform")
    first_email, second_email = smtp_sink.wait_for(2)
    slow_answer = first_post.arrived + SLOW
    assert first_email.arrived - first_reported < SLOW / 2
    assert second_email.arrived < slow_answer and second_email.arrived - second_reported < SLOW / 2
    assert first_email.arrived - first_post.arrived < SLOW / 2

    wait_until(lambda: [a["state"] for a in alerts(api)] == ["sent", "sent"], what="both alerts sent")
    assert len(slack.server.requests) == 2 and len(smtp_sink.received) == 2


def test_a_replica_killed_mid_delivery_repeats_nothing_to_channels_that_answered(
        serve, slack, discord, smtp_sink, database_url):
    lease = 6.0  # a send is cut at half of it: the hanging call must still be in flight at the kill
    hanging = Answered(slack.server)
    hanging.gate.clear()
    targets = {"email": [TEAM], "slack": [{"webhook_url": slack.webhook_url}],
               "discord": [{"webhook_url": discord.webhook_url}]}
    first = serve(targets, OTELMON_ALERT_LEASE_SECONDS=str(lease))
    report(first)
    (stuck,) = slack.server.wait_for(1)  # in flight: the stand-in holds it
    discord.wait_for(1)
    smtp_sink.wait_for(1)

    def answered_recorded() -> dict | None:
        by_channel = deliveries(only_alert(first) or {"deliveries": []})
        return by_channel if {by_channel.get(c, {}).get("state") for c in ("email", "discord")} == {"sent"} else None

    by_channel = wait_until(answered_recorded, what="email and Discord recorded as sent")
    assert by_channel["slack"]["state"] == "sending"
    lease_until = slack_lease(database_url)
    first.kill()

    hanging.gate.set()  # Slack answers normally from now on
    second = serve(targets, OTELMON_ALERT_LEASE_SECONDS=str(lease))
    alert = settled(second, "sent")
    retried = slack.server.requests[1]
    # Taken over only once the dead replica's lease ran out, by the new replica.
    assert wall_clock(retried) >= lease_until
    assert len(slack.server.requests) == 2 and len(hanging.accepted) == 2  # the stuck one was answered too, late
    assert len(discord.requests) == 1 and len(smtp_sink.received) == 1
    by_channel = deliveries(alert)
    assert by_channel["slack"]["attempts"] == 2
    assert by_channel["email"]["attempts"] == by_channel["discord"]["attempts"] == 1
    assert stuck.arrived < retried.arrived


def slack_lease(database_url: str) -> datetime:
    """When the Slack delivery's lease runs out (UTC), read from the database."""
    engine = create_db_engine(Settings(database_url=database_url))
    try:
        d = Tables.reflect(engine).alert_deliveries
        with engine.connect() as conn:
            lease_until = conn.execute(select(d.c.lease_until).where(d.c.integration == "slack")).scalar_one()
    finally:
        engine.dispose()
    return lease_until.replace(tzinfo=timezone.utc)


def wall_clock(request: Recorded) -> datetime:
    return datetime.now(timezone.utc) - timedelta(seconds=time.monotonic() - request.arrived)


def test_a_rate_limited_channel_is_tried_again_after_retry_after(serve, discord, smtp_sink):
    retry_after = 2.0
    discord.script(discord_vendor.rate_limited(retry_after))
    api = serve({"email": [TEAM], "discord": [{"webhook_url": discord.webhook_url}]})
    report(api)

    limited, accepted = discord.wait_for(2)
    # Delivery's own backoff would have tried again within 0.2 s.
    assert accepted.arrived - limited.arrived >= retry_after
    alert = settled(api, "sent")
    by_channel = deliveries(alert)
    assert by_channel["discord"]["attempts"] == 2 and by_channel["discord"]["state"] == "sent"
    assert len(smtp_sink.received) == 1 and by_channel["email"]["attempts"] == 1
    assert len(discord.requests) == 2


def test_receivers_test_reports_each_integration_and_the_listing_hides_secrets(serve, slack, discord, smtp_sink):
    gone = slack.server.url + "/services/T0001/B0001/Gone404SecretPath"
    api = serve({"email": [TEAM], "slack": [{"webhook_url": gone}],
                 "discord": [{"webhook_url": discord.webhook_url}]})

    listing = httpx.get(f"{api.url}/api/v1/receivers", headers=AUTH, timeout=10)
    assert listing.status_code == 200
    (receiver,) = listing.json()["receivers"]
    assert receiver["name"] == "data-team" and set(receiver["integrations"]) == {"email", "slack", "discord"}
    for secret in ("Gone404SecretPath", DISCORD_TOKEN, "/api/webhooks/", "/services/"):
        assert secret not in listing.text

    trial = httpx.post(f"{api.url}/api/v1/receivers/data-team/test", headers=AUTH, timeout=60)
    assert trial.status_code == 200, trial.text
    results = {r["integration"]: r for r in trial.json()["results"]}
    assert results["email"]["outcome"] == "delivered" and results["discord"]["outcome"] == "delivered"
    assert results["slack"]["outcome"] == "failed"
    assert "HTTP 404" in results["slack"]["detail"] and "no_service" in results["slack"]["detail"]
    assert "Gone404SecretPath" not in trial.text and DISCORD_TOKEN not in trial.text
    assert len(smtp_sink.received) == 1 and len(discord.requests) == 1 and len(slack.server.requests) == 1
    assert alerts(api) == []  # a test message is no alert

    unknown = httpx.post(f"{api.url}/api/v1/receivers/nobody/test", headers=AUTH, timeout=10)
    assert unknown.status_code == 404 and "data-team" in unknown.json()["detail"]
    for method, path in (("GET", "/api/v1/receivers"), ("POST", "/api/v1/receivers/data-team/test")):
        assert httpx.request(method, api.url + path, timeout=10).status_code == 401
        assert httpx.request(method, api.url + path, headers={"Authorization": "Bearer wrong"},
                             timeout=10).status_code == 401
    assert len(smtp_sink.received) == 1 and len(discord.requests) == 1  # refused requests sent nothing
