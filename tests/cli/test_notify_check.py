"""``otelmon notify check`` validates the receivers file and shows it masked; a bad file stops ``serve``."""

from __future__ import annotations

import os
import subprocess
import sys

import yaml

SECRET = "T000/B000/very-secret-webhook-path"

GOOD = """\
receivers:
  - name: data-team
    email: [data-team@example.com]
    slack: [{webhook_url: "https://hooks.slack.com/services/${SLACK_PATH}"}]
routes:
  - match: {owner: billing-*}
    receiver: data-team
    repeat_interval: 10m
"""

BAD = """\
receivers:
  - name: data-team
    slack:
      - {webhook_url: "https://hooks.slack.com/services/${SLACK_PATH}", bot_token: "${SLACK_PATH}"}
"""


def otelmon(*args: str, cwd, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("OTELMON_")}
    return subprocess.run([sys.executable, "-m", "otelmon.cli", *args], cwd=cwd, env=base | env,
                          capture_output=True, text=True, timeout=60)


def test_a_valid_file_is_printed_with_its_secrets_masked(tmp_path):
    (tmp_path / "notify.yaml").write_text(GOOD)
    done = otelmon("notify", "check", cwd=tmp_path, OTELMON_NOTIFY_CONFIG="notify.yaml", SLACK_PATH=SECRET)
    assert done.returncode == 0, done.stderr
    head, _, body = done.stdout.partition("\n")
    assert head == "receivers and routes from notify.yaml: valid (secrets shown masked)"
    assert SECRET not in done.stdout
    shown = yaml.safe_load(body.split("\nwarning: ")[0])
    assert shown["receivers"] == [{"name": "data-team", "integrations": {
        "email": [{"to": ["data-team@example.com"]}],
        "slack": [{"webhook_url": "**********", "api_url": "https://slack.com/api"}]}}]
    assert shown["routes"][0]["match"] == {"owner": "billing-*"}
    assert shown["routes"][0]["repeat_interval_seconds"] == 600
    assert done.stdout.splitlines()[-1] == ("warning: no default_receiver in notify.yaml: alerts that match no"
                                            " route wait as 'unroutable'")


def test_an_invalid_file_is_one_line_and_exit_2_for_check_and_for_serve(tmp_path):
    (tmp_path / "bad.yaml").write_text(BAD)
    expected = ("otelmon: configuration error: bad.yaml line 4: receivers[0].slack[0]: give either webhook_url,"
                " or bot_token with channel\n")
    done = otelmon("notify", "check", "bad.yaml", cwd=tmp_path, SLACK_PATH=SECRET)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", expected)
    served = otelmon("serve", "--port", "1", cwd=tmp_path, OTELMON_NOTIFY_CONFIG="bad.yaml", SLACK_PATH=SECRET)
    assert (served.returncode, served.stderr) == (2, expected)


def test_without_a_file_the_email_settings_are_shown(tmp_path):
    done = otelmon("notify", "check", cwd=tmp_path, OTELMON_ALERT_RECIPIENTS="team@example.com")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("receivers and routes from OTELMON_ALERT_RECIPIENTS / OTELMON_ALERT_ROUTES: valid")
    assert "- team@example.com" in done.stdout
