"""Fixtures for the real OpenTelemetry Collector, built from configs/otelcol-builder.yaml.

``OTELMON_OTELCOL_BIN`` names a built binary; otherwise scripts/setup/collector.sh builds it (minutes
when cold, which is why scripts/test.sh runs it before pytest) or finds it in its cache. A missing
or broken binary fails the tests: it never skips them.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.collector.otelcol_process import REPO, Collector
from tests.harness.otlp_sinks import GrpcTraceSink, HttpTraceSink

SETUP_SCRIPT = REPO / "scripts" / "setup" / "collector.sh"
BUILD_TIMEOUT = 2400


@pytest.fixture(scope="session")
def otelcol_binary() -> Path:
    given = os.environ.get("OTELMON_OTELCOL_BIN")
    if given:
        binary = Path(given)
    else:
        try:
            result = subprocess.run(["bash", str(SETUP_SCRIPT)], capture_output=True, text=True,
                                    timeout=BUILD_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            pytest.fail(f"{SETUP_SCRIPT} did not finish within {BUILD_TIMEOUT}s")
        if result.returncode != 0 or not result.stdout.strip():
            pytest.fail(f"{SETUP_SCRIPT} failed ({result.returncode}):\n{result.stderr[-4000:]}")
        binary = Path(result.stdout.strip().splitlines()[-1])
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        pytest.fail(f"no executable collector at {binary}")
    return binary


@pytest.fixture
def tempo_sink() -> Iterator[GrpcTraceSink]:
    sink = GrpcTraceSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def api_sink() -> Iterator[HttpTraceSink]:
    """Stands in for otelmon-api's ``POST /v1/traces``."""
    sink = HttpTraceSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def start_collector(otelcol_binary: Path, tmp_path: Path) -> Iterator[Callable[..., Collector]]:
    """Start configs/otelcol.yaml on loopback; ``start(tempo_endpoint, api_url, ingest_token="")``.

    Each call gets its own work directory (queue, log); every collector is stopped afterwards.
    """
    collectors: list[Collector] = []

    def start(tempo_endpoint: str, api_url: str, ingest_token: str = "", workdir: Path | None = None) -> Collector:
        collector = Collector(otelcol_binary, workdir or tmp_path / f"otelcol-{len(collectors)}",
                              tempo_endpoint=tempo_endpoint, api_url=api_url, ingest_token=ingest_token)
        collectors.append(collector)
        return collector.start()

    yield start
    for collector in collectors:
        collector.stop()
