"""A silence made with the CLI, through a real ``otelmon serve`` and SMTP (both databases): a matching failure
is stored and listed as silenced and never emailed, another is alerted; a short silence expires on time."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import httpx
import pytest

from tests.alerting.conftest import quiescent
from tests.harness.waiting import wait_until

TEAM = "data-team@example.com"


def otelmon(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("OTELMON_")}, "OTELMON_DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "otelmon.cli", *args], env=env, capture_output=True, text=True,
                          timeout=60)


def add_silence(url: str, *args: str) -> int:
    done = otelmon(url, "silence", "add", *args, "--comment", "known outage", "--author", "alice")
    assert done.returncode == 0, done.stdout + done.stderr
    return int(re.search(r"created silence #(\d+) active", done.stdout).group(1))


@pytest.fixture
def api(start_api, database_url, smtp_sink):
    return start_api({
        "OTELMON_DATABASE_URL": database_url,
        "OTELMON_SMTP_HOST": "127.0.0.1",
        "OTELMON_SMTP_PORT": str(smtp_sink.port),
        "OTELMON_SMTP_MAIL_FROM": "otelmon@example.com",
        "OTELMON_ALERT_RECIPIENTS": TEAM,
        "OTELMON_ALERT_GROUP_WAIT_SECONDS": "0",
        "OTELMON_ALERT_POLL_SECONDS": "0.2",
    })


def report(api, group: str, run: str) -> int:
    body = {"platform": "airflow", "group": group, "process": "load", "run_id": run, "error_type": "ValueError",
            "error_message": f"{group} broke"}
    response = httpx.post(f"{api.url}/api/v1/process-failure", json=body, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def listed(api) -> dict[int, dict]:
    items = httpx.get(f"{api.url}/api/v1/failures", timeout=10).raise_for_status().json()["items"]
    return {item["id"]: item for item in items}


def test_a_cli_silence_holds_back_a_matching_failure_and_not_another(api, database_url, smtp_sink):
    silence_id = add_silence(database_url, "--match", "group=billing_*", "--match", "platform=air*", "--for", "1h")
    held = report(api, "billing_daily", "r1")
    alerted = report(api, "sales", "r1")

    state = quiescent(api)
    assert state["outbox_by_state"] == {"alerted": 1, "silenced": 1}
    (got,) = smtp_sink.received
    assert got.message["Subject"] == "[OtelMon] FAILED airflow / sales / load"
    failures = listed(api)
    assert (failures[held]["silenced"], failures[held]["silence_id"]) == (True, silence_id)
    assert (failures[alerted]["silenced"], failures[alerted]["silence_id"]) == (False, None)
    detail = httpx.get(f"{api.url}/api/v1/failures/{held}", timeout=10).json()
    assert detail["silenced"] is True and detail["error_message"] == "billing_daily broke"  # stored in full

    listing = otelmon(database_url, "silence", "list")
    assert listing.returncode == 0 and f"#{silence_id} active" in listing.stdout
    assert "group=billing_* platform=air*" in listing.stdout and "by alice: known outage" in listing.stdout


def test_a_short_silence_expires_on_time(api, database_url, smtp_sink):
    silence_id = add_silence(database_url, "--match", "group=nightly", "--for", "4s")
    held = report(api, "nightly", "r1")
    assert quiescent(api)["outbox_by_state"] == {"silenced": 1}

    def expired():
        done = otelmon(database_url, "silence", "list", "--state", "expired")
        return f"#{silence_id} expired" in done.stdout

    wait_until(expired, timeout=30, interval=0.3, what="the silence to expire")
    after = report(api, "nightly", "r2")
    (got,) = smtp_sink.wait_for(1)
    assert got.message["Subject"] == "[OtelMon] FAILED airflow / nightly / load"
    assert quiescent(api)["outbox_by_state"] == {"silenced": 1, "alerted": 1}
    failures = listed(api)
    assert failures[held]["silenced"] and not failures[after]["silenced"]
    active = httpx.get(f"{api.url}/api/v1/silences", timeout=10).json()["items"]
    assert active == []
    (item,) = httpx.get(f"{api.url}/api/v1/silences", params={"state": "expired"}, timeout=10).json()["items"]
    assert item["id"] == silence_id and item["status"] == "expired" and item["expired_at"] is None


def test_the_cli_refuses_bad_silences_and_expires_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'o.db'}"
    assert otelmon(url, "migrate").returncode == 0
    for args, message in [
        (["--match", "owner=x", "--for", "1h"], "unknown matcher 'owner'"),
        (["--match", "group", "--for", "1h"], "expected KEY=PATTERN"),
        (["--match", "group=x", "--for", "soon"], "invalid duration"),
        (["--match", "group=x", "--until", "2000-01-01T00:00:00Z"], "must be after starts_at"),
        (["--match", "group=x", "--start", "1999-01-01T00:00:00", "--until", "2000-01-01T00:00:00Z"], "in the future"),
    ]:
        done = otelmon(url, "silence", "add", *args, "--comment", "c", "--author", "a")
        assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "no active silences" in otelmon(url, "silence", "list").stdout
    silence_id = add_silence(url, "--match", "process=load", "--for", "1h")
    first = otelmon(url, "silence", "expire", str(silence_id))
    assert first.returncode == 0 and f"expired silence #{silence_id} expired" in first.stdout
    second = otelmon(url, "silence", "expire", str(silence_id))
    assert second.returncode == 1 and "already expired" in second.stderr
    missing = otelmon(url, "silence", "expire", "99")
    assert missing.returncode == 1 and "silence 99 does not exist" in missing.stderr
