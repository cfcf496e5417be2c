"""A program of the stack (Prometheus, Alertmanager) run on a loopback port with a configuration the test
writes: started with its log in a file, ready when ``/-/ready`` answers, stopped at the end."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.harness.ports import free_port
from tests.harness.waiting import answers_ok, wait_until_serving


class LoopbackProgram:
    name = "program"  # the config file is <name>.yml, the log <name>.log

    def __init__(self, base_dir: Path, config: str) -> None:
        self.base_dir = base_dir
        self.config_text = config
        self.data = base_dir / "data"
        self.log = base_dir / f"{self.name}.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def command(self, config: Path) -> list[str]:
        raise NotImplementedError

    def start(self, timeout: float = 60):
        self.base_dir.mkdir(parents=True, exist_ok=True)
        config = self.base_dir / f"{self.name}.yml"
        config.write_text(self.config_text, encoding="utf-8")
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(self.command(config), stdout=log, stderr=subprocess.STDOUT)
        # Readiness is only visible through /-/ready.
        wait_until_serving(self.process, lambda: answers_ok(f"{self.url}/-/ready"), timeout, self.name,
                           self.log_tail)
        return self

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
