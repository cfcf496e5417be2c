"""The optional profiles and overlays (README, "Optional profiles"): each is a valid model for the real Compose,
is off by default, and its services follow the stack's rules (pinned image, loopback ports, healthcheck,
restart, memory limit, dependencies that wait for health).
"""

from __future__ import annotations

import json

import pytest

from tests.stack.conftest import run_compose
from tests.stack.dockerfiles import assert_pinned_tag
from tests.stack.stack_paths import REPO

# Profile: the services it adds.
PROFILES = {
    "proxy": {"proxy"},
    "jaeger": {"jaeger"},
    "host": {"node-exporter", "cadvisor", "blackbox-exporter", "pushgateway"},
}
OVERLAYS = ["compose.otlp-export.yaml", "compose.jaeger.yaml"]


def profile_model(profile: str, *overlays: str) -> dict:
    files = [arg for name in overlays for arg in ("-f", str(REPO / name))]
    result = run_compose(*files, "--profile", profile, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    assert "variable is not set" not in result.stderr, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_each_profile_is_valid_for_the_real_compose(profile: str) -> None:
    result = run_compose("--profile", profile, "config", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "variable is not set" not in result.stderr, result.stderr


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_overlay_is_valid_for_the_real_compose(overlay: str, tmp_path) -> None:
    env_file = tmp_path / "env"
    env_file.write_text("OTLP_EXPORT_ENDPOINT=ingest.eu.signoz.cloud:443\n")
    result = run_compose("-f", str(REPO / overlay), "--profile", "*", "config", "--format", "json", env_file=env_file)
    assert result.returncode == 0, result.stderr
    assert "variable is not set" not in result.stderr, result.stderr
    otelcol = json.loads(result.stdout)["services"]["otelcol"]
    # The overlay adds its fragment to the stack's config, and mounts it where the command reads it.
    fragment = otelcol["command"][1].removeprefix("--config=")
    assert otelcol["command"] == ["--config=/etc/otelcol/config.yaml", f"--config={fragment}"]
    mounts = {m["target"]: m["source"] for m in otelcol["volumes"] if m["type"] == "bind"}
    assert mounts[fragment] == str(REPO / "configs" / "otelcol-extra" / fragment.rsplit("/", 1)[1])
    assert mounts["/etc/otelcol/config.yaml"] == str(REPO / "configs" / "otelcol.yaml")


def test_the_export_overlay_defaults_and_refuses_to_start_without_an_endpoint(tmp_path) -> None:
    env_file = tmp_path / "env"
    env_file.write_text("OTLP_EXPORT_ENDPOINT=signoz-otel-collector:4317\n")
    result = run_compose("-f", str(REPO / "compose.otlp-export.yaml"), "config", "--format", "json", env_file=env_file)
    assert result.returncode == 0, result.stderr
    environment = json.loads(result.stdout)["services"]["otelcol"]["environment"]
    assert environment["OTLP_EXPORT_HEADERS"] == "{}"
    assert environment["OTLP_EXPORT_INSECURE"] == "false"
    result = run_compose("-f", str(REPO / "compose.otlp-export.yaml"), "config", "--quiet")
    assert result.returncode != 0
    assert "OTLP_EXPORT_ENDPOINT" in result.stderr


def test_profiles_are_off_by_default(compose_model: dict) -> None:
    added = set().union(*PROFILES.values())
    assert added & set(compose_model["services"]) == set()


@pytest.mark.parametrize(("profile", "services"), sorted(PROFILES.items()))
def test_profile_services_follow_the_stack_rules(profile: str, services: set[str]) -> None:
    model = profile_model(profile)
    assert services <= set(model["services"])
    for name in services:
        service = model["services"][name]
        assert_pinned_tag(service["image"], name)
        for port in service.get("ports", []):
            assert port.get("host_ip") == "127.0.0.1", f"{name} publishes {port} beyond loopback"
        check = service.get("healthcheck") or {}
        assert check.get("test") and check["test"][0] in ("CMD", "CMD-SHELL"), name
        assert service.get("restart") == "unless-stopped", name
        assert int(service.get("mem_limit") or 0) > 0, name
        for dep, spec in (service.get("depends_on") or {}).items():
            assert spec.get("condition") == "service_healthy", (name, dep)
