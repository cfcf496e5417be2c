"""Alertmanager, at the version the stack pins, on a loopback port with a configuration the test writes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx

from tests.harness import stack_tools
from tests.harness.ports import free_port
from tests.harness.waiting import answers_ok, wait_until_serving


class Alertmanager:
    def __init__(self, base_dir: Path, config: str) -> None:
        self.base_dir = base_dir
        self.config_text = config
        self.log = base_dir / "alertmanager.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> Alertmanager:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        config = self.base_dir / "alertmanager.yml"
        config.write_text(self.config_text, encoding="utf-8")
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                # No cluster: a single Alertmanager needs no gossip port.
                [stack_tools.alertmanager(), f"--config.file={config}", f"--storage.path={self.base_dir / 'data'}",
                 f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address="],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until_serving(self.process, lambda: answers_ok(f"{self.url}/-/ready"), timeout, "alertmanager",
                           self.log_tail)
        return self

    def post_alerts(self, alerts: list[dict]) -> None:
        """What Prometheus does: POST /api/v2/alerts."""
        httpx.post(f"{self.url}/api/v2/alerts", json=alerts, timeout=10).raise_for_status()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)
        self.process = None

    def log_tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return "(no log)"
