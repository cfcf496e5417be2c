"""Prometheus, at the version the stack pins, on a loopback port with a configuration the test writes."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.harness import stack_tools
from tests.harness.loopback_program import LoopbackProgram


class Prometheus(LoopbackProgram):
    name = "prometheus"

    def __init__(self, base_dir: Path, config: str, extra_args: tuple[str, ...] = ()) -> None:
        super().__init__(base_dir, config)
        self.extra_args = extra_args

    def command(self, config: Path) -> list[str]:
        return [stack_tools.prometheus(), f"--config.file={config}", f"--storage.tsdb.path={self.data}",
                f"--web.listen-address=127.0.0.1:{self.port}", *self.extra_args]

    def query(self, expr: str, at: float | None = None) -> dict:
        """An instant query; the parsed JSON answer (errors included)."""
        params = {"query": expr} if at is None else {"query": expr, "time": at}
        return httpx.get(f"{self.url}/api/v1/query", params=params, timeout=30).json()
