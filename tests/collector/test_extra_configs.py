"""The collector fragments the overlays merge over configs/otelcol.yaml with a second --config
(compose.jaeger.yaml, compose.otlp-export.yaml): the real collector accepts the merge, and the merge only
adds its own pipeline: every pipeline of the stack's config comes out unchanged.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.collector.otelcol_process import CONFIG

EXTRA = CONFIG.parent / "otelcol-extra"
# Fragment: (its pipeline, its exporter, the variables its overlay passes in).
FRAGMENTS = {
    "jaeger.yaml": ("traces/jaeger", "otlp_grpc/jaeger", {}),
    "otlp-export.yaml": (
        "traces/export",
        "otlp_grpc/export",
        {"OTLP_EXPORT_ENDPOINT": "ingest.eu.signoz.cloud:443", "OTLP_EXPORT_INSECURE": "false",
         "OTLP_EXPORT_HEADERS": "{signoz-ingestion-key: not-a-real-key}"},
    ),
}  # fmt: skip


def run(binary: Path, command: str, *configs: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OTELCOL_", "OTELMON_", "TEMPO_", "OTEL_"))}
    args = [str(binary), command, *(f"--config={c}" for c in configs)]
    if command == "print-config":
        args += ["--mode=unredacted", "--format=json"]
    return subprocess.run(args, env={**base, **(env or {})}, capture_output=True, text=True, timeout=60, check=False)


def pipelines(binary: Path, *configs: Path, env: dict[str, str] | None = None) -> dict:
    result = run(binary, "print-config", *configs, env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["service"]["pipelines"]


@pytest.mark.parametrize("fragment", sorted(FRAGMENTS))
def test_the_merged_config_is_valid(otelcol_binary: Path, fragment: str) -> None:
    env = FRAGMENTS[fragment][2]
    result = run(otelcol_binary, "validate", CONFIG, EXTRA / fragment, env=env)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("fragment", sorted(FRAGMENTS))
def test_the_merge_adds_one_pipeline_and_changes_none(otelcol_binary: Path, fragment: str) -> None:
    pipeline, exporter, env = FRAGMENTS[fragment]
    alone = pipelines(otelcol_binary, CONFIG)
    merged = pipelines(otelcol_binary, CONFIG, EXTRA / fragment, env=env)
    assert set(merged) == set(alone) | {pipeline}
    assert {name: merged[name] for name in alone} == alone
    assert merged[pipeline]["exporters"] == [exporter]
    # Every span the stack receives, as the main traces pipeline sees it.
    assert merged[pipeline]["receivers"] == alone["traces"]["receivers"]


def test_the_export_overlay_needs_its_endpoint(otelcol_binary: Path) -> None:
    env = {**FRAGMENTS["otlp-export.yaml"][2], "OTLP_EXPORT_ENDPOINT": ""}
    result = run(otelcol_binary, "validate", CONFIG, EXTRA / "otlp-export.yaml", env=env)
    assert result.returncode != 0
