"""The OtelMon API as users run it: ``otelmon serve`` in its own process, on a loopback port."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

from tests.harness.ports import free_port

# Logged once the listening socket exists ("Application startup complete" comes earlier, before
# uvicorn binds: a client that starts then can be refused).
_READY_LINE = "Uvicorn running on"


class ApiServer:
    def __init__(self, env: dict[str, str], port: int | None = None, cwd: Path | None = None,
                 clean_env: bool = False, command: list[str] | None = None) -> None:
        if clean_env:  # "no configuration at all"
            base = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/root")}
        else:
            base = {k: v for k, v in os.environ.items() if not k.startswith("OTELMON_")}
        # Retention off unless asked for (see tests/conftest.py): tests store failures at fixed dates. Not
        # for "no configuration at all", which is about the defaults.
        quiet = {} if clean_env else {"OTELMON_RETENTION_DAYS": "0"}
        self.env = {**base, **quiet, **env}
        self.port = port or free_port()
        self.cwd = cwd
        # ``otelmon`` as installed somewhere else (a fresh virtualenv), instead of this interpreter's.
        self.command = command or [sys.executable, "-m", "otelmon.cli"]
        self.process: subprocess.Popen | None = None
        self.output: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90) -> ApiServer:
        self.output = []
        self._lines = queue.Queue()
        self.process = subprocess.Popen(
            [*self.command, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env,
            cwd=self.cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._pump, args=(self.process,), daemon=True).start()
        # Wait for uvicorn's own "running on" line: an event, not a guess at how long it takes.
        while True:
            try:
                line = self._lines.get(timeout=timeout)
            except queue.Empty:
                self.kill()
                raise RuntimeError(f"API not ready after {timeout}s:\n" + "".join(self.output[-40:])) from None
            if line is None:
                raise RuntimeError("API exited during start-up:\n" + "".join(self.output[-40:]))
            if _READY_LINE in line:
                return self

    def _pump(self, process: subprocess.Popen) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.output.append(line)
            self._lines.put(line)
        self._lines.put(None)

    def stop(self, timeout: float = 20) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def logs(self) -> str:
        return "".join(self.output)
