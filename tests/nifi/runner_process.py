"""Drives nifi/scripts/nifi.py the way ExecutePython.py does: one framed request in, one framed response out."""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.nifi.conftest import PYTHON, SCRIPTS

RUNNER = SCRIPTS / "nifi.py"
RUN_TIMEOUT = 60


@dataclass
class RunnerAnswer:
    header: dict
    content: bytes | None
    returncode: int
    stderr: str
    seconds: float

    @property
    def attributes(self) -> dict[str, str]:
        return self.header["attributes"]


def run_runner(
    script: Path | str,
    content: bytes,
    attributes: dict[str, str],
    *,
    endpoint: str,
    timeout: float = 10,
    processor: str = "Clean orders",
    group: str | None = "ingest",
    max_content_bytes: int | None = None,
    env: dict[str, str] | None = None,
    raw_request: bytes | None = None,
    will_retry: bool | None = None,
) -> RunnerAnswer:
    header = {
        "v": 1,
        "script": str(script),
        "timeout": timeout,
        "processor": processor,
        "group": group,
        "attributes": attributes,
        "content_length": len(content),
    }
    if max_content_bytes is not None:
        header["max_content_bytes"] = max_content_bytes
    if will_retry is not None:
        header["will_retry"] = will_retry
    request = raw_request if raw_request is not None else json.dumps(header).encode() + b"\n" + content
    environment = {**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint, "OTEL_BSP_SCHEDULE_DELAY": "60000"}
    environment.pop("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", None)
    environment.update(env or {})
    started = time.monotonic()
    done = subprocess.run(
        [PYTHON, str(RUNNER)], input=request, capture_output=True, env=environment, timeout=RUN_TIMEOUT, check=False
    )
    seconds = time.monotonic() - started
    line, _, rest = done.stdout.partition(b"\n")
    answer = json.loads(line)
    length = answer["content_length"]
    assert (len(rest) == length) if length is not None else rest == b"", (length, rest[:200])
    return RunnerAnswer(answer, rest if length is not None else None, done.returncode, done.stderr.decode(), seconds)
