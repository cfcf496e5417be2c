"""``otelmon notify test RECEIVER``: a test message through every integration, each result printed."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.harness.vendors.discord import DiscordStandIn
from tests.harness.vendors.slack import WEBHOOK_PATH, Slack

FILE = """\
receivers:
  - name: data-team
    email: [data-team@example.com]
    slack: [{webhook_url: "${SLACK_URL}"}]
    discord: [{webhook_url: "${DISCORD_URL}"}]
"""


def otelmon(*args: str, cwd, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("OTELMON_")}
    return subprocess.run([sys.executable, "-m", "otelmon.cli", *args], cwd=cwd, env=base | env,
                          capture_output=True, text=True, timeout=60)


def test_each_integration_is_tried_and_reported(tmp_path, smtp_sink):
    (tmp_path / "notify.yaml").write_text(FILE)
    with Slack() as slack, DiscordStandIn("1180", "right-token") as discord:
        # A Discord webhook whose token was regenerated: 401, a failure that retrying cannot fix.
        wrong = discord.webhook_url.replace("right-token", "old-token")
        done = otelmon("notify", "test", "data-team", cwd=tmp_path, OTELMON_NOTIFY_CONFIG="notify.yaml",
                       OTELMON_SMTP_HOST="127.0.0.1", OTELMON_SMTP_PORT=str(smtp_sink.port),
                       SLACK_URL=slack.webhook_url, DISCORD_URL=wrong)
        lines = done.stdout.splitlines()
        assert done.returncode == 1, done.stderr
        assert lines[0].startswith("email[0] delivered: <") and lines[1] == "slack[0] delivered"
        assert lines[2].startswith("discord[0] failed: HTTP 401 from 127.0.0.1") and "Invalid Webhook Token" in lines[2]
        assert "old-token" not in done.stdout + done.stderr and WEBHOOK_PATH not in done.stdout + done.stderr
        (email,) = smtp_sink.wait_for(1)
        assert email.rcpt_tos == ["data-team@example.com"]
        assert email.message["Subject"] == "[OtelMon] OtelMon test message for receiver data-team"
        (posted,) = slack.calls(WEBHOOK_PATH)
        assert "test message for receiver data-team" in posted.json()["text"]


def test_an_unknown_receiver_is_named_with_those_that_exist(tmp_path):
    (tmp_path / "notify.yaml").write_text(FILE)
    done = otelmon("notify", "test", "nobody", cwd=tmp_path, OTELMON_NOTIFY_CONFIG="notify.yaml",
                   SLACK_URL="https://hooks.slack.com/services/x", DISCORD_URL="https://discord.com/api/webhooks/1/x")
    assert done.returncode == 2
    assert done.stderr.strip() == "error: no receiver named 'nobody'; configured: data-team"
