"""The pinned collector accepts configs/otelcol.yaml, rejects broken copies, and is built from
exactly the components the config uses."""

from __future__ import annotations

import copy
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.collector.otelcol_process import CONFIG

KINDS = ("receivers", "processors", "exporters", "connectors", "extensions")


def validate(binary: Path, config: Path) -> subprocess.CompletedProcess:
    # The compose defaults of every ${env:...} apply: no OTELCOL_/OTELMON_ variable is inherited.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTELCOL_", "OTELMON_", "TEMPO_", "OTEL_"))}
    return subprocess.run([str(binary), "validate", f"--config={config}"], env=env, capture_output=True,
                          text=True, timeout=60, check=False)


def load_config() -> dict:
    return yaml.safe_load(CONFIG.read_text())


def test_stack_config_is_valid(otelcol_binary: Path) -> None:
    result = validate(otelcol_binary, CONFIG)
    assert result.returncode == 0, result.stderr


def _undefined_exporter(config: dict) -> None:
    config["service"]["pipelines"]["traces/errors"]["exporters"] = ["otlp_http/otelmon_typo"]


def _component_not_built(config: dict) -> None:
    # zipkin is in the contrib image but deliberately not in our build; a config using it must not pass here.
    config["exporters"]["zipkin"] = {"endpoint": "http://zipkin:9411/api/v2/spans"}
    config["service"]["pipelines"]["traces"]["exporters"].append("zipkin")


def _bad_ottl(config: dict) -> None:
    config["processors"]["filter/failures_and_runs"]["trace_conditions"] = ["span.status.code != STATUS_CODE_ERRORS"]


def _misspelled_option(config: dict) -> None:
    retry = config["exporters"]["otlp_http/otelmon"]["retry_on_failure"]
    retry["max_elapse_time"] = retry.pop("max_elapsed_time")


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [
        (_undefined_exporter, "otlp_http/otelmon_typo"),
        (_component_not_built, "zipkin"),
        (_bad_ottl, "STATUS_CODE_ERRORS"),
        (_misspelled_option, "max_elapse_time"),
    ],
    ids=["undefined-exporter", "component-not-built", "bad-ottl", "misspelled-option"],
)
def test_broken_copy_fails_validation(otelcol_binary: Path, tmp_path: Path,
                                      breakage: Callable[[dict], None], expected: str) -> None:
    config = copy.deepcopy(load_config())
    breakage(config)
    broken = tmp_path / "otelcol.yaml"
    broken.write_text(yaml.safe_dump(config, sort_keys=False))

    result = validate(otelcol_binary, broken)

    assert result.returncode != 0, f"validate accepted a broken config:\n{result.stdout}{result.stderr}"
    assert expected in result.stderr, result.stderr


def _types(names: list[str] | dict) -> set[str]:
    return {name.split("/")[0] for name in names}


# Built for tests that configure it themselves, not used by configs/otelcol.yaml: the load-balancing exporter
# in front of several API replicas (tests/scaleout/load_balancer.py, benchmarks/scale_out.py).
TEST_ONLY = {"exporters": {"load_balancing"}}
# The `logs` profile's collector (otelcol-logs) runs the same build.
LOGS_CONFIG = CONFIG.parent / "otelcol-logs.yaml"


def test_build_has_exactly_the_components_the_configs_and_the_scale_out_tests_use(otelcol_binary: Path) -> None:
    configs = [load_config(), yaml.safe_load(LOGS_CONFIG.read_text())]
    used = {kind: set().union(*(_types(config.get(kind) or {}) for config in configs)) | TEST_ONLY.get(kind, set())
            for kind in KINDS}

    result = subprocess.run([str(otelcol_binary), "components"], capture_output=True, text=True, timeout=60,
                            check=True)
    listed = yaml.safe_load(result.stdout)
    built = {kind: {component["name"] for component in listed.get(kind) or []} for kind in KINDS}

    assert built == used
