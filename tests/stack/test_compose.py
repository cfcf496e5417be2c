"""docker-compose.yaml, checked by the real Compose v2 binary and by the rules the stack promises:
pinned images, loopback-only ports, healthchecks, ordered start-up, memory limits, named volumes,
no secret outside ``${VAR:-default}``.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.harness.mailpit import Mailpit
from tests.stack.conftest import one_shot_services, run_compose
from tests.stack.dockerfiles import assert_pinned_tag, dockerfile_from_images
from tests.stack.stack_paths import ENV_EXAMPLE, REPO

# What fits a 16 GB workstation with room for the OS and a browser.
LONG_RUNNING_MEMORY_BUDGET = 13 * 1024**3
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|FERNET|_KEY$")
# `$${VAR}` is an escaped dollar for the container's shell, not a Compose variable.
INTERPOLATION = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")




def test_compose_config_is_valid_without_env_file() -> None:
    result = run_compose("config", "--quiet")
    assert result.returncode == 0, result.stderr
    # Compose warns about every unset variable that has no default.
    assert "variable is not set" not in result.stderr, result.stderr


def test_compose_config_is_valid_with_env_example() -> None:
    assert ENV_EXAMPLE.is_file(), ".env.example is missing"
    result = run_compose("config", "--quiet", env_file=ENV_EXAMPLE)
    assert result.returncode == 0, result.stderr
    assert "variable is not set" not in result.stderr, result.stderr


def test_env_example_lists_every_variable_the_compose_file_reads() -> None:
    assert ENV_EXAMPLE.is_file(), ".env.example is missing"
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), flags=re.MULTILINE))
    used = set(INTERPOLATION.findall((REPO / "docker-compose.yaml").read_text()))
    assert used - documented == set(), f"variables missing from .env.example: {sorted(used - documented)}"


def test_the_expected_services_are_there(compose_model: dict) -> None:
    expected = {
        "otelcol",
        "tempo",
        "prometheus",
        "grafana",
        "mariadb",
        "mailpit",
        "otelmon-api",
        "airflow-postgres",
        "airflow-apiserver",
        "airflow-scheduler",
        "airflow-dag-processor",
        "airflow-triggerer",
        "nifi",
    }
    assert expected <= set(compose_model["services"])


def test_every_image_is_pinned_to_an_exact_version(compose_model_all: dict) -> None:
    for name, service in compose_model_all["services"].items():
        build = service.get("build")
        if build:
            images = dockerfile_from_images(build)
            assert images, f"{name}: its Dockerfile has no FROM"
            for image in images:
                assert_pinned_tag(image, f"{name} (Dockerfile FROM)")
        else:
            assert_pinned_tag(service["image"], name)


def test_every_published_port_is_bound_to_loopback(compose_model_all: dict) -> None:
    published = 0
    for name, service in compose_model_all["services"].items():
        for port in service.get("ports", []):
            published += 1
            assert port.get("host_ip") == "127.0.0.1", f"{name} publishes {port} beyond loopback"
    # Nine in the default stack; the profiles add Loki 3100, nginx 8000, Jaeger 16686 and the Pushgateway 9091.
    assert published == 13


@pytest.mark.parametrize(
    ("service", "ports"),
    [
        ("grafana", {3000}),
        ("airflow-apiserver", {8080}),
        ("nifi", {8443}),
        ("otelmon-api", {8090}),
        ("prometheus", {9090}),
        ("tempo", {3200}),
        ("mailpit", {8025}),
        ("otelcol", {4317, 4318}),
    ],
)
def test_host_ports(compose_model: dict, service: str, ports: set[int]) -> None:
    published = {int(p["published"]) for p in compose_model["services"][service].get("ports", [])}
    assert published == ports


def test_every_long_running_service_has_a_healthcheck(compose_model: dict) -> None:
    one_shots = one_shot_services(compose_model)
    for name, service in compose_model["services"].items():
        if name in one_shots:
            continue
        check = service.get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"
        assert check["test"][0] in ("CMD", "CMD-SHELL"), f"{name}: {check['test']}"
        assert service.get("restart") == "unless-stopped", f"{name} is not restarted after a crash"


def test_one_shot_services_exit_and_are_not_restarted(compose_model: dict) -> None:
    one_shots = one_shot_services(compose_model)
    assert {"airflow-init"} <= one_shots
    for name in one_shots:
        assert compose_model["services"][name].get("restart") == "no", name


def test_dependencies_wait_for_health_or_completion(compose_model: dict) -> None:
    # `docker compose up --wait` is only meaningful if nothing starts against a half-ready dependency.
    for name, service in compose_model["services"].items():
        for dep, spec in (service.get("depends_on") or {}).items():
            assert dep in compose_model["services"], f"{name} depends on unknown {dep}"
            assert spec.get("condition") in ("service_healthy", "service_completed_successfully"), (name, dep)


def test_memory_limits_fit_a_16_gb_workstation(compose_model: dict) -> None:
    one_shots = one_shot_services(compose_model)
    total = 0
    for name, service in compose_model["services"].items():
        limit = int(service.get("mem_limit") or 0)
        assert limit > 0, f"{name} has no memory limit"
        if name not in one_shots:
            total += limit
    assert total <= LONG_RUNNING_MEMORY_BUDGET, f"long-running services may use {total / 1024**3:.1f} GiB"


def test_state_lives_in_named_volumes(compose_model: dict) -> None:
    declared = set(compose_model.get("volumes", {}))
    for name, service in compose_model["services"].items():
        for mount in service.get("volumes", []):
            if mount["type"] == "volume":
                assert mount.get("source") in declared, f"{name}: anonymous volume at {mount['target']}"
            elif mount["type"] == "bind":
                # A missing bind source makes Docker create an empty directory in its place.
                assert mount["source"].startswith(str(REPO)), f"{name} mounts {mount['source']} outside the repo"
                assert (REPO / mount["source"][len(str(REPO)) + 1 :]).exists(), f"{name}: {mount['source']} missing"
            else:
                pytest.fail(f"{name}: unexpected mount type {mount['type']}")
    for key in ("mariadb-data", "prometheus-data", "tempo-data", "grafana-data", "otelcol-queue"):
        assert key in declared


def test_no_host_networking_or_privileges(compose_model: dict) -> None:
    for name, service in compose_model["services"].items():
        assert service.get("network_mode") in (None, "default"), name
        assert not service.get("privileged"), name
    assert "networks" not in compose_model or set(compose_model["networks"]) == {"default"}


def test_secrets_come_only_from_variables(compose_raw_model: dict) -> None:
    """Every password, token or key is ``${VAR...}``, so .env overrides it and nothing else holds one."""
    checked = 0
    for name, service in compose_raw_model["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(key) or "://" in str(value) and "@" in str(value):
                checked += 1
                assert value is None or str(value).startswith("${") or re.search(r":\$\{\w+", str(value)), (
                    f"{name}: {key} is written into docker-compose.yaml"
                )
    assert checked >= 10


def test_copying_env_example_to_env_changes_nothing(compose_model: dict) -> None:
    # The README says `cp .env.example .env` is optional: the copy must give exactly the stack without one,
    # or a value meant for the pip-installed API (say SMTP on localhost) silently rewires the containers.
    result = run_compose("config", "--format", "json", env_file=ENV_EXAMPLE)
    assert result.returncode == 0, result.stderr
    with_copy = json.loads(result.stdout)
    differences = [
        f"{service}.{key}: {value!r} (without .env: {compose_model['services'][service]['environment'].get(key)!r})"
        for service, spec in with_copy["services"].items()
        for key, value in (spec.get("environment") or {}).items()
        if compose_model["services"][service]["environment"].get(key) != value
    ]
    assert differences == []
    assert with_copy == compose_model


def test_mailpit_in_the_tests_is_the_release_the_stack_pins(compose_model: dict, tmp_path) -> None:
    pinned = compose_model["services"]["mailpit"]["image"].rsplit(":", 1)[1]
    mailpit = Mailpit(tmp_path / "mailpit").start()
    try:
        assert mailpit.info()["Version"] == pinned
    finally:
        mailpit.stop()
