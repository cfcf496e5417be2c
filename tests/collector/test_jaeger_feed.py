"""The `jaeger` profile for real: Jaeger v2 built from Go modules at the pinned release (scripts/setup/
stack_tools.sh) checks configs/jaeger.yaml with its own `validate`, and runs it on loopback fed by the real
collector with the stack's config plus compose.jaeger.yaml's fragment; every span arrives in Jaeger's query
API, and Tempo's place still gets them all.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.collector.otelcol_process import CONFIG, Collector
from tests.collector.runs import SERVICE, make_run, send
from tests.harness import stack_tools
from tests.harness.otlp_sinks import GrpcTraceSink, HttpTraceSink
from tests.harness.ports import free_port
from tests.harness.waiting import answers_ok, wait_until, wait_until_serving

JAEGER_CONFIG = CONFIG.parent / "jaeger.yaml"
FRAGMENT = CONFIG.parent / "otelcol-extra" / "jaeger.yaml"
DELIVERY_TIMEOUT = 30


def jaeger_env(ports: dict[str, int]) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("JAEGER_", "OTEL_"))}
    return {**base, "JAEGER_LISTEN_HOST": "127.0.0.1", **{name: str(port) for name, port in ports.items()}}


def validate(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([stack_tools.jaeger(), "validate", f"--config={config}"], env=jaeger_env({}),
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip


def test_jaeger_accepts_its_config() -> None:
    result = validate(JAEGER_CONFIG)
    assert result.returncode == 0, result.stderr


def test_jaeger_rejects_a_misspelled_key(tmp_path: Path) -> None:
    broken = tmp_path / "jaeger.yaml"
    broken.write_text(JAEGER_CONFIG.read_text().replace("max_traces:", "max_trace:"))
    result = validate(broken)
    assert result.returncode != 0
    assert "max_trace" in result.stderr


@pytest.fixture
def jaeger(tmp_path: Path) -> Iterator[dict[str, int]]:
    ports = {name: free_port() for name in
             ("JAEGER_OTLP_GRPC_PORT", "JAEGER_UI_PORT", "JAEGER_QUERY_GRPC_PORT", "JAEGER_HEALTH_PORT")}  # fmt: skip
    log = tmp_path / "jaeger.log"
    with log.open("wb") as out:
        process = subprocess.Popen([stack_tools.jaeger(), f"--config={JAEGER_CONFIG}"], env=jaeger_env(ports),
                                   stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        health = f"http://127.0.0.1:{ports['JAEGER_HEALTH_PORT']}/status"
        wait_until_serving(process, lambda: answers_ok(health), 60, "jaeger",
                           lambda: log.read_text(errors="replace")[-3000:])  # fmt: skip
        yield ports
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.mark.slow
def test_the_collector_feeds_jaeger_every_span(
    jaeger: dict[str, int], otelcol_binary: Path, tempo_sink: GrpcTraceSink, api_sink: HttpTraceSink, tmp_path: Path
) -> None:
    to_jaeger = {"JAEGER_OTLP_ENDPOINT": f"127.0.0.1:{jaeger['JAEGER_OTLP_GRPC_PORT']}"}
    collector = Collector(otelcol_binary, tmp_path / "otelcol", tempo_endpoint=tempo_sink.endpoint,
                          api_url=api_sink.url, extra_configs=(FRAGMENT,), extra_env=to_jaeger)  # fmt: skip
    collector.start()
    try:
        run = make_run(ok_spans=19)
        send(collector.otlp_http_traces_url, run.spans)
        # The query API the UI itself calls: the service's traces (each of these spans is a trace of its own).
        url = f"http://127.0.0.1:{jaeger['JAEGER_UI_PORT']}/api/traces"
        search = {"service": SERVICE, "limit": 1000, "lookback": "1h"}

        def spans_in_jaeger() -> set[str] | None:
            answer = httpx.get(url, params=search, timeout=5)
            if answer.status_code != 200:
                return None
            got = {span["spanID"] for trace in answer.json()["data"] for span in trace["spans"]}
            return got if got >= run.span_ids else None

        assert wait_until(spans_in_jaeger, DELIVERY_TIMEOUT, what="every span in Jaeger") == run.span_ids
        tempo = tempo_sink.received.wait_for(lambda got: {s.span_id for s in got} >= run.span_ids,
                                             DELIVERY_TIMEOUT, "every span at Tempo's place too")  # fmt: skip
        assert len(tempo) == len(run.spans)
    finally:
        collector.stop()
