"""The stack's collector config (configs/otelcol.yaml) run by the locally built collector.

Only environment variables change, each one the config reads: listen addresses move to free
loopback ports, Tempo and otelmon-api to whatever the test gives, the queue to a test directory.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.harness.ports import free_port
from tests.harness.waiting import answers_ok, wait_until_serving

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "configs" / "otelcol.yaml"

# The variables configs/otelcol.yaml reads; anything else named like them is removed from the
# inherited environment so a developer's shell cannot leak into a test.
_PORT_VARS = (
    "OTELCOL_OTLP_GRPC_PORT",
    "OTELCOL_OTLP_HTTP_PORT",
    "OTELCOL_HEALTH_PORT",
    "OTELCOL_PROMETHEUS_PORT",
    "OTELCOL_TELEMETRY_PORT",
)
_OWN_PREFIXES = ("OTELCOL_", "TEMPO_", "OTELMON_", "OTEL_")


class Collector:
    def __init__(self, binary: Path, workdir: Path, tempo_endpoint: str, api_url: str, ingest_token: str = "",
                 config: Path = CONFIG, extra_configs: tuple[Path, ...] = (),
                 extra_env: dict[str, str] | None = None) -> None:
        self.binary = binary
        self.config = config
        # Fragments merged over the config by further --config flags, as the compose overlays do.
        self.extra_configs = extra_configs
        self.workdir = workdir
        self.queue_dir = workdir / "queue"
        self.log_path = workdir / "otelcol.log"
        self.ports = {name: free_port() for name in _PORT_VARS}
        base = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_PREFIXES)}
        self.env = {
            **base,
            "OTELCOL_BIND": "127.0.0.1",
            **{name: str(port) for name, port in self.ports.items()},
            "OTELCOL_QUEUE_DIR": str(self.queue_dir),
            "TEMPO_OTLP_ENDPOINT": tempo_endpoint,
            "OTELMON_API_ENDPOINT": api_url,
            "OTELMON_INGEST_TOKEN": ingest_token,
            **(extra_env or {}),
        }
        self.process: subprocess.Popen | None = None

    def _url(self, port_var: str, path: str = "") -> str:
        return f"http://127.0.0.1:{self.ports[port_var]}{path}"

    @property
    def otlp_http_traces_url(self) -> str:
        return self._url("OTELCOL_OTLP_HTTP_PORT", "/v1/traces")

    @property
    def otlp_grpc_endpoint(self) -> str:
        return f"127.0.0.1:{self.ports['OTELCOL_OTLP_GRPC_PORT']}"

    @property
    def health_url(self) -> str:
        return self._url("OTELCOL_HEALTH_PORT", "/")

    @property
    def span_metrics_url(self) -> str:
        return self._url("OTELCOL_PROMETHEUS_PORT", "/metrics")

    @property
    def telemetry_url(self) -> str:
        return self._url("OTELCOL_TELEMETRY_PORT", "/metrics")

    def start(self, timeout: float = 60) -> Collector:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("a") as log:
            self.process = subprocess.Popen(
                [str(self.binary), "--config", str(self.config),
                 *(arg for extra in self.extra_configs for arg in ("--config", str(extra)))],
                env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )
        self._wait_healthy(timeout)
        return self

    def _wait_healthy(self, timeout: float) -> None:
        # health_check answers 200 only once every pipeline has started; polling it is the readiness
        # signal the collector offers (compose's healthcheck uses the same endpoint).
        assert self.process is not None
        try:
            wait_until_serving(self.process, lambda: answers_ok(self.health_url), timeout, "otelcol", self.logs)
        except RuntimeError:
            self.kill()
            raise

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM, as ``docker stop`` sends; the collector drains and closes its queue. Returns the exit code."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode if self.process else None

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def logs(self, tail: int = 60) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-tail:])

    def telemetry(self, sample_name: str, **labels: str) -> float:
        """One sample of the collector's own metrics (:8888), e.g. ``otelcol_receiver_accepted_spans_total``."""
        text = httpx.get(self.telemetry_url, timeout=5).raise_for_status().text
        values = [
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == sample_name and labels.items() <= sample.labels.items()
        ]
        if len(values) != 1:
            raise AssertionError(f"{len(values)} samples of {sample_name}{labels} in the collector's telemetry")
        return values[0]
