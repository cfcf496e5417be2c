"""configs/prometheus.yml and its alert rules, checked by promtool and a server at the version the stack pins."""

from __future__ import annotations

import subprocess

from tests.harness import stack_tools
from tests.stack.prometheus_server import PrometheusServer
from tests.stack.stack_paths import PROMETHEUS_CONFIG, PROMETHEUS_RULE_TESTS, REPO


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [stack_tools.promtool(), *args], capture_output=True, text=True, timeout=120, check=False, cwd=REPO
    )


def test_promtool_check_config() -> None:
    result = _promtool("check", "config", str(PROMETHEUS_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 rule files found" in result.stdout + result.stderr


def test_promtool_rule_unit_tests() -> None:
    result = _promtool("test", "rules", str(PROMETHEUS_RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_rule_has_a_unit_test() -> None:
    rules = set(_alert_names((REPO / "configs/prometheus/rules.yml").read_text()))
    tested = set(_tested_alerts(PROMETHEUS_RULE_TESTS.read_text()))
    assert rules - tested == set()


def test_server_loads_the_rules_and_evaluates_them(prometheus: PrometheusServer) -> None:
    groups = prometheus.rule_groups()
    rules = [rule for group in groups for rule in group["rules"]]
    assert {r["name"] for r in rules} == set(_alert_names((REPO / "configs/prometheus/rules.yml").read_text()))
    for rule in rules:
        # Each expression, evaluated on the stack's own series, answers without error.
        answer = prometheus.query(rule["query"])
        assert answer["status"] == "success", (rule["name"], answer)


def _alert_names(text: str) -> list[str]:
    return [line.split(":", 1)[1].strip() for line in text.splitlines() if line.strip().startswith("- alert:")]


def _tested_alerts(text: str) -> list[str]:
    return [line.split(":", 1)[1].strip() for line in text.splitlines() if line.strip().startswith("alertname:")]


def test_prometheus_and_promtool_are_the_release_the_stack_pins(compose_model: dict) -> None:
    pinned = compose_model["services"]["prometheus"]["image"].rsplit(":v", 1)[1]
    for binary in (stack_tools.prometheus(), stack_tools.promtool()):
        done = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, check=False)
        assert f"version {pinned} " in done.stdout + done.stderr, (binary, done.stdout, done.stderr)
