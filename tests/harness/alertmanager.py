"""Alertmanager, at the version the stack pins, on a loopback port with a configuration the test writes."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.harness import stack_tools
from tests.harness.loopback_program import LoopbackProgram


class Alertmanager(LoopbackProgram):
    name = "alertmanager"

    def command(self, config: Path) -> list[str]:
        # No cluster: a single Alertmanager needs no gossip port.
        return [stack_tools.alertmanager(), f"--config.file={config}", f"--storage.path={self.data}",
                f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address="]

    def post_alerts(self, alerts: list[dict]) -> None:
        """What Prometheus does: POST /api/v2/alerts."""
        httpx.post(f"{self.url}/api/v2/alerts", json=alerts, timeout=10).raise_for_status()
