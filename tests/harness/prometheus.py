"""Prometheus, at the version the stack pins, on a loopback port with a configuration the test writes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx

from tests.harness import stack_tools
from tests.harness.ports import free_port
from tests.harness.waiting import answers_ok, wait_until_serving


class Prometheus:
    def __init__(self, base_dir: Path, config: str, extra_args: tuple[str, ...] = ()) -> None:
        self.base_dir = base_dir
        self.config_text = config
        self.extra_args = extra_args
        self.data = base_dir / "data"
        self.log = base_dir / "prometheus.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> Prometheus:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        config = self.base_dir / "prometheus.yml"
        config.write_text(self.config_text, encoding="utf-8")
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [stack_tools.prometheus(), f"--config.file={config}", f"--storage.tsdb.path={self.data}",
                 f"--web.listen-address=127.0.0.1:{self.port}", *self.extra_args],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        # Readiness is only visible through /-/ready.
        wait_until_serving(self.process, lambda: answers_ok(f"{self.url}/-/ready"), timeout, "prometheus",
                           self.log_tail)

    def query(self, expr: str, at: float | None = None) -> dict:
        """An instant query; the parsed JSON answer (errors included)."""
        params = {"query": expr} if at is None else {"query": expr, "time": at}
        return httpx.get(f"{self.url}/api/v1/query", params=params, timeout=30).json()

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
