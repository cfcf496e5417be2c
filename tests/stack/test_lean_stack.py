"""The lean core for a small machine (compose.lean.yaml), checked by the real Compose binary, and the
memory figures the README gives, as printed by scripts/stack_memory.py."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from tests.stack.conftest import one_shot_services, run_compose
from tests.stack.stack_paths import ENV_EXAMPLE, REPO, compose_binary

CORE = {"otelcol", "tempo", "prometheus", "grafana", "mariadb", "mailpit", "otelmon-api"}
LEAN_BUDGET_GIB = 3.0


def lean_compose(*args: str) -> subprocess.CompletedProcess[str]:
    return run_compose("-f", str(REPO / "compose.lean.yaml"), *args)


def memory_report() -> str:
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "stack_memory.py"), "--compose", str(compose_binary())],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_lean_command_is_valid_compose_and_starts_only_the_core() -> None:
    result = lean_compose("config", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "variable is not set" not in result.stderr, result.stderr
    model = json.loads(lean_compose("config", "--format", "json").stdout)
    long_running = set(model["services"]) - one_shot_services(model)
    assert long_running == CORE
    # Everything the core waits for is in the core: `up --wait` cannot hang on a service left out.
    for name, service in model["services"].items():
        assert set(service.get("depends_on") or {}) <= set(model["services"]), name


# Profiles of optional extras (README): only their own services are off by default.
OPTIONAL_PROFILES = {"host", "logs", "jaeger", "proxy"}


def test_the_plain_command_still_starts_everything(compose_model: dict) -> None:
    assert {"nifi", "airflow-scheduler", "airflow-apiserver"} <= set(compose_model["services"])
    profiled = {name: set(s["profiles"]) for name, s in compose_model["services"].items() if s.get("profiles")}
    assert all(profiles <= OPTIONAL_PROFILES for profiles in profiled.values()), profiled
    assert not (CORE | {"nifi", "airflow-scheduler", "airflow-apiserver"}) & set(profiled)


def test_lean_memory_fits_the_budget_and_the_readme_quotes_the_printed_figures() -> None:
    report = memory_report()
    total = re.search(r"^total\s+([\d.]+) GiB\s+([\d.]+) GiB$", report, re.MULTILINE)
    assert total, report
    full_gib, lean_gib = total.groups()
    assert float(lean_gib) <= LEAN_BUDGET_GIB, report
    readme = (REPO / "README.md").read_text()
    assert f"{lean_gib} GiB" in readme, f"README does not give the lean stack's {lean_gib} GiB:\n{report}"
    assert f"{full_gib} GiB" in readme, f"README does not give the full stack's {full_gib} GiB:\n{report}"
    assert f"({lean_gib} GiB in all" in (REPO / "compose.lean.yaml").read_text()


def test_copying_env_example_to_env_changes_nothing_in_the_lean_stack() -> None:
    without = json.loads(lean_compose("config", "--format", "json").stdout)
    result = run_compose("-f", str(REPO / "compose.lean.yaml"), "config", "--format", "json", env_file=ENV_EXAMPLE)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == without
