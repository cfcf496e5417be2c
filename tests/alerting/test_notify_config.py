"""The receivers file: loaded safely, ${VAR} from the environment, every error one line naming line and key."""

from __future__ import annotations

import json
import textwrap

import pytest

from otelmon.alerting.notify_config import MAX_BYTES, load, parse_duration
from otelmon.alerting.routing import Router
from otelmon.config import ConfigurationError, Settings

SECRET = "xoxb-very-secret-token-123"
ENV = {"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/" + SECRET, "TELEGRAM_TOKEN": SECRET,
       "PD_KEY": SECRET, "PD_ROUTING_KEY": SECRET, "HOOK_SECRET": SECRET,
       "TEAMS_WORKFLOW_URL": "https://teams.example/" + SECRET}

# The design's sketch, as given there.
SKETCH = """\
receivers:
  - name: data-team
    email: [data-team@example.com]
    slack: [{webhook_url: "${SLACK_WEBHOOK_URL}"}]          # or {bot_token, channel}: threads, updates
    msteams: [{webhook_url: "${TEAMS_WORKFLOW_URL}"}]       # Teams Workflows (Adaptive Card)
    telegram: [{bot_token: "${TELEGRAM_TOKEN}", chat_id: "-1001234", api_url: "https://api.telegram.org"}]
    googlechat: [{webhook_url: "https://chat.googleapis.com/v1/spaces/X/messages?key=k"}]
    discord: [{webhook_url: "https://discord.com/api/webhooks/1/abc"}]
    webhook: [{url: "https://example.com/hook", secret: "${HOOK_SECRET}"}]
    pagerduty: [{routing_key: "${PD_KEY}", url: "https://events.pagerduty.com/v2/enqueue"}]
    apprise: ["ntfy://otelmon-alerts"]                        # anything else Apprise speaks
  - name: billing
    email: [billing@example.com, finance@example.com]
routes:                                                       # first match wins, unless continue: true
  - match: {platform: airflow, group: "billing_*"}           # also process, owner, tag (glob)
    receiver: billing
    repeat_interval: 1h
    storm_cap_per_minute: 20
    send_resolved: true
default_receiver: data-team
"""


def write(tmp_path, text: str, name: str = "notify.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def error_of(path, env=None) -> str:
    with pytest.raises(ConfigurationError) as caught:
        load(path, ENV if env is None else env)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_the_design_sketch_loads_with_every_integration_and_one_email_target_per_receiver(tmp_path):
    config = load(write(tmp_path, SKETCH), ENV)
    team, billing = config.receivers
    assert [(integration, index) for integration, index, _ in team.targets] == [
        ("email", 0), ("slack", 0), ("msteams", 0), ("telegram", 0), ("googlechat", 0), ("discord", 0),
        ("pagerduty", 0), ("webhook", 0), ("apprise", 0)]
    by_name = {integration: target for integration, _, target in team.targets}
    assert by_name["slack"].webhook_url.get_secret_value() == ENV["SLACK_WEBHOOK_URL"]
    assert by_name["apprise"].url.get_secret_value() == "ntfy://otelmon-alerts"  # a bare string entry
    assert by_name["telegram"].chat_id == "-1001234"
    assert [t.to for _, _, t in billing.targets] == [["billing@example.com", "finance@example.com"]]
    (route,) = config.routes
    assert (route.receiver, route.repeat_interval, route.storm_cap_per_minute, route.continue_) == (
        "billing", 3600.0, 20, False)
    assert config.default_receiver == "data-team"


LINE_ERRORS = [
    ("slack needs a mode", """\
        receivers:
          - name: team
            email: [a@example.com]
            slack:
              - channel: "#alerts"
        """, "line 5: receivers[0].slack[0]: give either webhook_url, or bot_token with channel"),
    ("unknown integration", """\
        receivers:
          - name: team
            slak: [{webhook_url: x}]
        """, "line 3: receivers[0].slak: unknown integration 'slak' (known: name, email, slack, msteams, telegram,"
             " googlechat, discord, pagerduty, webhook, apprise)"),
    ("unknown top-level key", """\
        receivers: []
        default_reciever: team
        """, "line 2: default_reciever: unknown key 'default_reciever' (expected one of receivers, routes,"
             " default_receiver)"),
    ("unknown route key", """\
        receivers: [{name: team}]
        routes:
          - receiver: team
            contiune: true
        """, "line 4: routes[0].contiune: unknown key 'contiune' (expected one of match, receiver, continue,"
             " repeat_interval, storm_cap_per_minute, send_resolved)"),
    ("unknown match key", """\
        receivers: [{name: team}]
        routes:
          - receiver: team
            match: {platform: airflow,
                    team: billing}
        """, "line 5: routes[0].match.team: unknown key 'team' (expected one of platform, group, process, owner,"
             " tag)"),
    ("unknown key of an integration", """\
        receivers:
          - name: team
            telegram:
              - {bot_token: t, chat_id: 1}
              - {token: t, chat_id: 1}
        """, "line 5: receivers[0].telegram[1]: bot_token is required; line 5: receivers[0].telegram[1].token:"
             " unknown key 'token' (expected one of bot_token, chat_id, api_url, message_thread_id)"),
    ("required key of an integration", """\
        receivers:
          - name: team
            msteams:
              - {}
        """, "line 4: receivers[0].msteams[0]: webhook_url is required"),
    ("route without receiver", """\
        receivers: [{name: team}]
        routes:
          - match: {group: x}
        """, "line 3: routes[0]: receiver is required"),
    ("route to a missing receiver", """\
        receivers: [{name: team}]
        routes:
          - receiver: team
          - receiver: billing
        """, "line 4: routes[1].receiver: no receiver named 'billing' (team)"),
    ("default receiver missing", """\
        receivers: [{name: team}]
        default_receiver: billing
        """, "line 2: default_receiver: no receiver named 'billing' (team)"),
    ("duplicate receiver names", """\
        receivers:
          - name: team
          - name: other
          - name: team
        """, "line 4: receivers[2].name: receiver 'team' is defined twice"),
    ("bad duration", """\
        receivers: [{name: team}]
        routes:
          - receiver: team
            repeat_interval: soon
        """, "line 4: routes[0].repeat_interval: expected a duration such as 30s, 5m, 1h, 1d, or a number of"
             " seconds"),
    ("storm cap below 1", """\
        receivers: [{name: team}]
        routes:
          - receiver: team
            storm_cap_per_minute: 0
        """, "line 4: routes[0].storm_cap_per_minute: expected greater than or equal to 1"),
    ("not a bool", """\
        receivers: [{name: team}]
        routes:
          - receiver: team
            continue: perhaps
        """, "line 4: routes[0].continue: expected a valid boolean, unable to interpret input"),
    ("bad address", """\
        receivers:
          - name: team
            email: [team.example.com]
        """, "line 3: receivers[0].email[0]: expected an email address"),
    ("receiver name unusable in a URL", """\
        receivers:
          - name: data team/1
        """, "line 2: receivers[0].name: expected a name of letters, digits, '-', '_' and '.' (it appears in"
             " URLs)"),
    ("key given twice", """\
        receivers: [{name: team}]
        routes: []
        receivers: []
        """, "line 3: receivers: given twice"),
    ("receivers not a list", """\
        receivers:
          name: team
        """, "line 1: receivers: expected a valid list"),
    ("not a mapping at all", """\
        - name: team
        """, "line 1: expected a valid dictionary or instance of NotifyFile"),
    ("unset variable", """\
        receivers:
          - name: team
            discord: [{webhook_url: "${DISCORD_URL}"}]
        """, "line 3: receivers[0].discord[0].webhook_url: environment variable DISCORD_URL is not set (named as"
             " ${DISCORD_URL})"),
    ("not a variable name", """\
        receivers:
          - name: team
            discord: [{webhook_url: "${1nope}"}]
        """, "line 3: receivers[0].discord[0].webhook_url: ${1nope} is not a variable name (write $${...} for a"
             " literal ${...})"),
]


@pytest.mark.parametrize("text, expected", [case[1:] for case in LINE_ERRORS], ids=[c[0] for c in LINE_ERRORS])
def test_every_error_is_one_line_naming_file_line_and_key(tmp_path, text, expected):
    path = write(tmp_path, text)
    assert error_of(path) == f"{path} {expected}"


def test_several_errors_are_listed_by_line_on_one_line(tmp_path):
    path = write(tmp_path, """\
        routes:
          - receiver: a
            storm_cap_per_minute: 0
        receivers:
          - {name: a, msteams: [{}]}
        """)
    assert error_of(path) == (f"{path} line 3: routes[0].storm_cap_per_minute: expected greater than or equal"
                              " to 1; line 5: receivers[0].msteams[0]: webhook_url is required")


@pytest.mark.parametrize("text, expected", [
    ("receivers: [{name: a}\n", " line 2 column 1: invalid YAML: while parsing a flow sequence expected ',' or"
                                " ']', but got '<stream end>'"),
    ("receivers:\n  - &r {name: a}\n  - *r\n", " line 3 column 5: invalid YAML: aliases (*name) are not"
                                               " supported here"),
    ("", ": empty; expected receivers and routes"),
    ("receivers: !!python/object:os.system {}\n", " line 1: receivers: the YAML tag"
                                                  " tag:yaml.org,2002:python/object:os.system is not supported here"),
    ("receivers: [{name: !!python/name:os.system a}]\n", " line 1 column 20: invalid YAML: could not determine"
                                                          " a constructor for the tag"
                                                          " 'tag:yaml.org,2002:python/name:os.system'"),
])
def test_yaml_that_cannot_be_read_safely_is_refused(tmp_path, text, expected):
    path = tmp_path / "notify.yaml"
    path.write_text(text)
    assert error_of(path) == f"{path}{expected}"


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 10) + "]" for n in range(1, 10)]
    path = tmp_path / "notify.yaml"
    path.write_text("\n".join(lines) + "\n")
    assert "aliases (*name) are not supported" in error_of(path)


def test_size_and_depth_are_bounded(tmp_path):
    big = tmp_path / "big.yaml"
    big.write_text("receivers: []\n" + "#" * MAX_BYTES + "\n")
    assert error_of(big) == f"{big}: larger than 1024 KiB"
    deep = tmp_path / "deep.yaml"
    deep.write_text("receivers: " + "[" * 50_000 + "]" * 50_000 + "\n")
    assert error_of(deep) == f"{deep}: nested too deeply"


def test_missing_or_binary_file(tmp_path):
    assert error_of(tmp_path / "nope.yaml") == (f"OTELMON_NOTIFY_CONFIG: cannot read {tmp_path / 'nope.yaml'}:"
                                                " No such file or directory")
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"receivers: [\xff]")
    assert error_of(binary) == f"{binary}: not UTF-8 text (byte 12)"


def test_variables_are_filled_in_and_double_dollar_escapes(tmp_path):
    path = write(tmp_path, """\
        receivers:
          - name: team
            webhook: [{url: "https://${HOST}:${PORT}/hook?literal=$${HOST}&cost=$5"}]
            telegram: [{bot_token: "${TOKEN}", chat_id: "${CHAT}", message_thread_id: "${THREAD}"}]
        """)
    config = load(path, {"HOST": "relay.example", "PORT": "8443", "TOKEN": "t", "CHAT": "-100", "THREAD": "7"})
    _, _, telegram = config.receivers[0].targets[0]
    _, _, webhook = config.receivers[0].targets[1]
    assert webhook.url.get_secret_value() == "https://relay.example:8443/hook?literal=${HOST}&cost=$5"
    assert (telegram.chat_id, telegram.message_thread_id) == ("-100", 7)


def test_variables_come_from_the_environment_over_dot_env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("DISCORD_URL=https://discord.example/from-dot-env\nOTHER=from-dot-env\n")
    monkeypatch.setenv("OTHER", "https://discord.example/from-environment")
    path = write(tmp_path, """\
        receivers:
          - name: team
            discord: [{webhook_url: "${DISCORD_URL}"}, {webhook_url: "${OTHER}"}]
        """)
    config = load(path)
    assert [t.webhook_url.get_secret_value() for _, _, t in config.receivers[0].targets] == [
        "https://discord.example/from-dot-env", "https://discord.example/from-environment"]


def test_no_secret_reaches_an_error_message(tmp_path):
    cases = [
        # A value read from the environment, rejected.
        """\
        receivers:
          - name: team
            pagerduty: [{routing_key: k, severity: "${PD_KEY}"}]
        """,
        """\
        receivers:
          - name: team
            telegram: [{bot_token: "${TELEGRAM_TOKEN}", chat_id: "1", message_thread_id: "${PD_KEY}"}]
        """,
        # Both modes at once: the model's own error.
        """\
        receivers:
          - name: team
            slack: [{webhook_url: "${SLACK_WEBHOOK_URL}", bot_token: "${TELEGRAM_TOKEN}", channel: c}]
        """,
        # A secret written into the file, on a line YAML cannot parse.
        f"""\
        receivers:
          - name: team
            slack: [{{webhook_url: "https://hooks.slack.com/{SECRET}}}]
        """,
        f"""\
        receivers:
          - name: team
            slack: [{{webhook_url: {{nested: "{SECRET}"}}}}]
        """,
    ]
    for text in cases:
        message = error_of(write(tmp_path, text))
        assert " line " in message
        assert SECRET not in message and "very-secret" not in message, message


def test_describe_masks_every_secret(tmp_path):
    router = Router.from_settings(Settings(notify_config=write(tmp_path, SKETCH)), ENV)
    shown = json.dumps(router.describe())
    assert SECRET not in shown and "ntfy://otelmon-alerts" not in shown
    (team,) = [r for r in router.describe()["receivers"] if r["name"] == "data-team"]
    assert team["integrations"]["slack"] == [{"webhook_url": "**********", "api_url": "https://slack.com/api"}]
    assert team["integrations"]["email"] == [{"to": ["data-team@example.com"]}]
    assert team["integrations"]["telegram"][0]["bot_token"] == "**********"


@pytest.mark.parametrize("value, seconds", [
    ("30s", 30), ("5m", 300), ("1h", 3600), ("1d", 86400), ("1h30m", 5400), (90, 90), (2.5, 2.5), ("45", 45),
    ("0", 0), (" 2m ", 120),
])
def test_durations(value, seconds):
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["-1", -5, "1w", "", "h", "1h 30m", "nan", "inf", True, None, [1]])
def test_durations_refused(value):
    with pytest.raises(ValueError, match="expected a duration"):
        parse_duration(value)


def test_the_readme_example_is_valid_and_routes_as_it_says(tmp_path):
    from pathlib import Path

    from otelmon.alerting.routing import Labels

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("### Receivers and routes", 1)[1]
    example = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    router = Router.from_settings(Settings(notify_config=write(tmp_path, example)), ENV)
    routed = [route.receiver for route in router.routes_for(
        Labels("airflow", "billing_daily", "charge", owner="billing-team", tags=("finance",)))]
    assert routed == ["billing", "data-team"]
    assert [r.receiver for r in router.routes_for(Labels("nifi", "ingest"))] == ["data-team"]
