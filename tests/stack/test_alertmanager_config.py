"""configs/alertmanager.yml and the `alertmanager` service: checked by amtool at the pinned version, and wired
to what OtelMon and Prometheus expect (the webhook path, the ingest token, the profile, the target)."""

from __future__ import annotations

import subprocess
from urllib.parse import urlsplit

import yaml

from otelmon.api.routes.alertmanager import router
from tests.harness import stack_tools
from tests.stack.conftest import run_compose
from tests.stack.stack_paths import PROMETHEUS_CONFIG, REPO

ALERTMANAGER_CONFIG = REPO / "configs" / "alertmanager.yml"


def _webhook() -> dict:
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    [receiver] = [r for r in config["receivers"] if r["name"] == config["route"]["receiver"]]
    [webhook] = receiver["webhook_configs"]
    return webhook


def test_amtool_check_config() -> None:
    result = subprocess.run([stack_tools.amtool(), "check-config", str(ALERTMANAGER_CONFIG)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_alertmanager_and_amtool_are_the_release_the_stack_pins(compose_model_all: dict) -> None:
    pinned = compose_model_all["services"]["alertmanager"]["image"].rsplit(":v", 1)[1]
    for binary in (stack_tools.alertmanager(), stack_tools.amtool()):
        done = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, check=False)
        assert f"version {pinned} " in done.stdout + done.stderr, done.stdout + done.stderr


def test_the_webhook_is_otelmons_endpoint_with_the_ingest_token(compose_model_all: dict) -> None:
    webhook = _webhook()
    url = urlsplit(webhook["url"])
    assert url.netloc == "otelmon-api:8090" and "otelmon-api" in compose_model_all["services"]
    assert url.path in {route.path for route in router.routes}
    assert webhook["send_resolved"] is True  # the recovery notice depends on it
    auth = webhook["http_config"]["authorization"]
    assert auth.get("type", "Bearer") == "Bearer" and "credentials" not in auth  # no token in the file
    service = compose_model_all["services"]["alertmanager"]
    [mounted] = [c for c in service["configs"] if c["target"] == auth["credentials_file"]]
    # The same variable and default as the API's own token.
    assert compose_model_all["configs"][mounted["source"]]["content"] == (
        compose_model_all["services"]["otelmon-api"]["environment"]["OTELMON_INGEST_TOKEN"])
    mounts = {m["target"]: m["source"] for m in service["volumes"] if m["type"] == "bind"}
    assert mounts["/etc/alertmanager/alertmanager.yml"] == str(ALERTMANAGER_CONFIG)
    assert "--config.file=/etc/alertmanager/alertmanager.yml" in service["command"]


def test_alertmanager_is_in_the_host_profile_and_off_by_default(compose_model_all: dict) -> None:
    assert compose_model_all["services"]["alertmanager"]["profiles"] == ["host"]
    default = run_compose("config", "--services")
    assert default.returncode == 0, default.stderr
    assert "alertmanager" not in default.stdout.split()
    with_host = run_compose("--profile", "host", "config", "--services")
    assert "alertmanager" in with_host.stdout.split()


def test_prometheus_sends_its_alerts_to_the_alertmanager_service(compose_model_all: dict) -> None:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    targets = [t for am in config["alerting"]["alertmanagers"] for sc in am["static_configs"] for t in sc["targets"]]
    assert targets == ["alertmanager:9093"]
    # The port Alertmanager listens on by default, the one its healthcheck probes.
    assert "127.0.0.1:9093/" in " ".join(compose_model_all["services"]["alertmanager"]["healthcheck"]["test"])
