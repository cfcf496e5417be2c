"""The stack's receivers file (configs/notify.yaml): mounted into the API, off until .env names it, every
secret it names passed to the API (and only to it) when set, and valid as shipped and once uncommented,
checked with the real Compose binary and ``otelmon notify check``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest

from tests.stack.conftest import run_compose
from tests.stack.dockerfiles import instructions
from tests.stack.stack_paths import ENV_EXAMPLE, REPO

NOTIFY_FILE = REPO / "configs" / "notify.yaml"
SETTING = "configs/notify.yaml"  # what .env says to turn the file on (README, "In the Docker stack")
LEAN = ("-f", str(REPO / "compose.lean.yaml"))
# The integrations the stack's API image can load: Apprise is an extra it does not install.
STACK_INTEGRATIONS = {"email", "slack", "msteams", "telegram", "googlechat", "discord", "pagerduty", "webhook"}
VARIABLE = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def model(*args: str, env_file: Path | None = None) -> dict:
    result = run_compose(*args, "config", "--format", "json", env_file=env_file)
    assert result.returncode == 0, result.stderr
    assert "variable is not set" not in result.stderr, result.stderr
    return json.loads(result.stdout)


def uncommented(text: str) -> str:
    """The file with every setting turned on: "# " lines are settings, "##" lines explanations."""
    return re.sub(r"^(\s*)# ", r"\1", text, flags=re.MULTILINE)


def variables(text: str) -> set[str]:
    """The ``${VAR}`` names in the settings of ``text``, not in its comments."""
    return set(VARIABLE.findall(re.sub(r"^\s*#.*$", "", text, flags=re.MULTILINE)))


def passed_through(compose: dict) -> set[str]:
    """The API's variables taken from .env or the shell only when set (no value in the compose file)."""
    return {key for key, value in compose["services"]["otelmon-api"]["environment"].items() if value is None}


def notify_check(path: Path | str, extra_env: dict[str, str], cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    # A clean environment: a developer's own channel variables or OTELMON_* must not make the file pass
    # (``cwd`` too: the command reads .env from there).
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "otelmon.cli", "notify", "check", str(path)],
        cwd=cwd, env={**env, **extra_env}, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def fake_secrets(names: set[str]) -> dict[str, str]:
    return {name: f"https://hooks.example.com/{name.lower()}-0123456789" for name in names}


@pytest.mark.parametrize("files", [(), LEAN], ids=["full", "lean"])
def test_the_api_mounts_the_shipped_file_read_only_where_the_setting_points(files: tuple[str, ...]) -> None:
    api = model(*files)["services"]["otelmon-api"]
    mounts = [m for m in api["volumes"] if m["type"] == "bind" and m["source"] == str(NOTIFY_FILE)]
    assert len(mounts) == 1, api["volumes"]
    assert NOTIFY_FILE.is_file()
    assert mounts[0]["read_only"] is True
    # The relative setting resolves against the container's working directory, which is the image's WORKDIR.
    assert mounts[0]["target"] == str(PurePosixPath(api["working_dir"]) / SETTING)
    workdirs = [args for name, args in instructions((REPO / "api" / "Dockerfile").read_text()) if name == "WORKDIR"]
    assert workdirs[-1] == api["working_dir"]


@pytest.mark.parametrize("files", [(), LEAN], ids=["full", "lean"])
def test_the_file_is_off_until_env_names_it(files: tuple[str, ...], tmp_path: Path) -> None:
    default = model(*files)["services"]["otelmon-api"]["environment"]
    assert default["OTELMON_NOTIFY_CONFIG"] == ""  # empty: email to OTELMON_ALERT_RECIPIENTS, as before
    assert default["OTELMON_ALERT_RECIPIENTS"] == "data-team@example.com"
    env = tmp_path / ".env"
    env.write_text(f"OTELMON_NOTIFY_CONFIG={SETTING}\nSLACK_WEBHOOK_URL=https://hooks.slack.com/services/T0/B0/x\n")
    turned_on = model(*files, env_file=env)["services"]["otelmon-api"]["environment"]
    assert turned_on["OTELMON_NOTIFY_CONFIG"] == SETTING
    assert turned_on["SLACK_WEBHOOK_URL"] == "https://hooks.slack.com/services/T0/B0/x"


def test_channel_secrets_reach_the_api_only_when_set_and_nothing_else(compose_model: dict, tmp_path: Path) -> None:
    secrets = passed_through(compose_model)
    assert "SLACK_WEBHOOK_URL" in secrets
    # Unset stays unset (not ""), so a channel turned on without its secret names the missing variable.
    assert all(compose_model["services"]["otelmon-api"]["environment"][name] is None for name in secrets)
    env = tmp_path / ".env"
    env.write_text("".join(f"{name}={value}\n" for name, value in fake_secrets(secrets).items()))
    with_secrets = model(env_file=env)
    assert {name: with_secrets["services"]["otelmon-api"]["environment"][name] for name in secrets} == fake_secrets(
        secrets
    )
    for name, service in with_secrets["services"].items():
        if name != "otelmon-api":
            leaked = (secrets | {"OTELMON_NOTIFY_CONFIG"}) & set(service.get("environment") or {})
            assert leaked == set(), f"{name} gets {sorted(leaked)}"


def test_the_api_gets_exactly_the_variables_the_file_names(compose_model: dict) -> None:
    named = variables(uncommented(NOTIFY_FILE.read_text()))
    assert named, "configs/notify.yaml names no ${VAR}: the uncommenting convention changed?"
    assert named == passed_through(compose_model)


def test_the_channel_variables_are_documented_in_env_example(compose_model: dict) -> None:
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), flags=re.MULTILINE))
    assert passed_through(compose_model) - documented == set()


def test_the_shipped_file_is_valid_and_emails_the_stacks_default_recipient(compose_model: dict) -> None:
    done = notify_check(SETTING, {})
    assert done.returncode == 0, done.stderr
    assert f"from {SETTING}: valid" in done.stdout
    default_recipient = compose_model["services"]["otelmon-api"]["environment"]["OTELMON_ALERT_RECIPIENTS"]
    assert re.search(rf"^\s+- {re.escape(default_recipient)}$", done.stdout, flags=re.MULTILINE), done.stdout
    assert "warning" not in done.stdout
    # As shipped it names no variable: turning it on needs no secret.
    assert variables(NOTIFY_FILE.read_text()) == set()


def test_every_channel_in_the_file_is_valid_once_uncommented(compose_model: dict, tmp_path: Path) -> None:
    every = tmp_path / "notify.yaml"
    every.write_text(uncommented(NOTIFY_FILE.read_text()))
    done = notify_check(every, fake_secrets(passed_through(compose_model)), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    shown = set(re.findall(r"^    (\w+):$", done.stdout, flags=re.MULTILINE))
    assert shown == STACK_INTEGRATIONS, done.stdout
    assert "https://hooks.example.com" not in done.stdout  # secrets are masked


def test_a_channel_turned_on_without_its_secret_names_the_variable(tmp_path: Path) -> None:
    every = tmp_path / "notify.yaml"
    every.write_text(uncommented(NOTIFY_FILE.read_text()))
    done = notify_check(every, {}, cwd=tmp_path)
    assert done.returncode == 2
    assert re.search(r"environment variable [A-Z_]+ is not set", done.stderr), done.stderr


def test_public_url_reaches_the_api_and_airflow_alike(compose_model: dict) -> None:
    services = compose_model["services"]
    assert services["otelmon-api"]["environment"]["OTELMON_PUBLIC_URL"] == "http://localhost:8090"
    assert services["airflow-scheduler"]["environment"]["OTELMON_PUBLIC_URL"] == "http://localhost:8090"
    assert "OTELMON_PUBLIC_URL=http://localhost:8090" in ENV_EXAMPLE.read_text().splitlines()


def _readme_stack_section() -> str:
    text = (REPO / "README.md").read_text()
    section = re.search(r"^### In the Docker stack\n(.*?)^##", text, flags=re.MULTILINE | re.DOTALL)
    assert section, 'README has no "### In the Docker stack" section'
    return section.group(1)


def test_the_readme_names_every_variable_the_api_gets(compose_model: dict) -> None:
    named = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", _readme_stack_section()))
    assert passed_through(compose_model) <= named


def test_the_readmes_override_replaces_the_file_and_passes_its_variable(tmp_path: Path) -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", _readme_stack_section(), flags=re.DOTALL)
    assert len(blocks) == 1
    override = tmp_path / "compose.override.yaml"
    override.write_text(blocks[0])
    env = tmp_path / ".env"
    env.write_text("OPSGENIE_HOOK_URL=https://hooks.example.com/opsgenie\n")
    api = model("-f", str(override), env_file=env)["services"]["otelmon-api"]
    mounts = [m for m in api["volumes"] if m["target"].endswith("/" + SETTING)]
    assert [m["source"] for m in mounts] == ["/etc/otelmon/notify.yaml"]
    assert api["environment"]["OPSGENIE_HOOK_URL"] == "https://hooks.example.com/opsgenie"
