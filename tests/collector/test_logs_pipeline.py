"""configs/otelcol-logs.yaml (the `logs` profile's collector) run by the real collector, Loki replaced by a
stand-in OTLP/HTTP sink: OTLP log records keep their trace context and severity; Docker json-file lines and
Airflow task log files are tailed, parsed and labelled. scripts/smoke_logs.sh (the hosted CI's check of the
profile) is run against this collector too, with a stand-in Docker and a Loki query API over the sink."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from tests.collector.otelcol_process import REPO, Collector
from tests.harness.otlp_log_sink import HttpLogSink, ReceivedLog
from tests.harness.ports import free_port

CONFIG = REPO / "configs" / "otelcol-logs.yaml"
TIMEOUT = 30
CONTAINER_ID = "3f4e1c2a9b8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f"


@pytest.fixture
def loki_sink() -> Iterator[HttpLogSink]:
    sink = HttpLogSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def dirs(tmp_path: Path) -> dict[str, Path]:
    paths = {name: tmp_path / name for name in ("containers", "airflow", "state")}
    for path in paths.values():
        path.mkdir()
    return paths


@pytest.fixture
def collector(otelcol_binary: Path, tmp_path: Path, loki_sink: HttpLogSink,
              dirs: dict[str, Path]) -> Iterator[Collector]:
    collector = Collector(otelcol_binary, tmp_path / "otelcol", tempo_endpoint="", api_url="", config=CONFIG)
    collector.env.update({
        "LOKI_OTLP_ENDPOINT": loki_sink.url,
        "OTELCOL_CONTAINER_LOGS_DIR": str(dirs["containers"]),
        "OTELCOL_AIRFLOW_LOGS_DIR": str(dirs["airflow"]),
        "OTELCOL_LOGS_STATE_DIR": str(dirs["state"]),
    })
    yield collector.start()
    collector.stop()


def test_the_config_is_valid_for_the_real_collector(otelcol_binary: Path) -> None:
    result = subprocess.run([str(otelcol_binary), "validate", f"--config={CONFIG}"], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr


def _one(sink: HttpLogSink, predicate, what: str) -> ReceivedLog:
    logs = sink.wait_for(lambda got: any(predicate(log) for log in got), TIMEOUT, what)
    return next(log for log in logs if predicate(log))


# The SDK's LoggingHandler is what an instrumented program uses today; its move to another package is announced.
@pytest.mark.filterwarnings("ignore:`LoggingHandler` in `opentelemetry-sdk` is deprecated:DeprecationWarning")
def test_otlp_log_records_reach_loki_with_trace_context_and_severity(collector: Collector,
                                                                     loki_sink: HttpLogSink) -> None:
    provider = LoggerProvider(resource=Resource({"service.name": "etl-job"}))
    exporter = OTLPLogExporter(endpoint=collector.otlp_http_traces_url.replace("/v1/traces", "/v1/logs"), timeout=10)
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = logging.getLogger("test_logs_pipeline.otlp")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = LoggingHandler(logger_provider=provider)
    logger.addHandler(handler)
    tracer = TracerProvider().get_tracer("test")
    try:
        with tracer.start_as_current_span("load orders") as span:
            logger.error("loading orders failed: table locked")
            context = span.get_span_context()
    finally:
        logger.removeHandler(handler)
        provider.shutdown()

    record = _one(loki_sink, lambda log: log.body == "loading orders failed: table locked", "the OTLP log record")
    assert record.trace_id == f"{context.trace_id:032x}"
    assert record.span_id == f"{context.span_id:016x}"
    assert record.severity_text == "ERROR"
    assert record.severity_number == 17  # SEVERITY_NUMBER_ERROR
    assert record.resource["service.name"] == "etl-job"


def _json_file_line(text: str, stream: str, service: str | None, time: str) -> str:
    line: dict[str, object] = {"log": text + "\n", "stream": stream, "time": time}
    if service is not None:
        line["attrs"] = {"com.docker.compose.service": service}
    return json.dumps(line) + "\n"


def test_container_log_lines_in_docker_json_file_format_reach_loki(collector: Collector, loki_sink: HttpLogSink,
                                                                   dirs: dict[str, Path]) -> None:
    container_dir = dirs["containers"] / CONTAINER_ID
    container_dir.mkdir()
    log_file = container_dir / f"{CONTAINER_ID}-json.log"
    with log_file.open("a") as out:
        out.write(_json_file_line("ERROR: could not connect to mariadb", "stderr", "otelmon-api",
                                  "2026-12-01T21:00:00.123456789Z"))
        out.write(_json_file_line("no compose label here", "stdout", None, "2026-12-01T21:00:01Z"))

    first = _one(loki_sink, lambda log: log.body == "ERROR: could not connect to mariadb", "the container line")
    assert first.resource["service.name"] == "otelmon-api"
    assert first.resource["compose.service"] == "otelmon-api"
    assert first.resource["container.id"] == CONTAINER_ID
    assert first.attributes == {"log.iostream": "stderr"}
    assert first.time_unix_nano == 1796158800123456789

    second = _one(loki_sink, lambda log: log.body == "no compose label here", "the unlabelled line")
    assert "service.name" not in second.resource
    assert second.attributes == {"log.iostream": "stdout"}


def test_airflow_task_log_files_reach_loki_with_their_task_identity(collector: Collector, loki_sink: HttpLogSink,
                                                                    dirs: dict[str, Path]) -> None:
    task_dir = dirs["airflow"] / "dag_id=orders" / "run_id=manual__2026-12-01T21:00:00+00:00" / "task_id=load"
    task_dir.mkdir(parents=True)
    lines = [
        {"timestamp": "2026-12-01T21:00:02.500000Z", "level": "info", "event": "Loading 10 rows", "logger": "task"},
        {"timestamp": "2026-12-01T21:00:03Z", "level": "error", "event": "Task failed with exception",
         "logger": "task", "error_detail": "boom"},
    ]
    (task_dir / "attempt=2.log").write_text("".join(json.dumps(line) + "\n" for line in lines))
    (dirs["airflow"] / "dag_id=orders" / "run_id=r1" / "task_id=fan" / "map_index=3").mkdir(parents=True)
    (dirs["airflow"] / "dag_id=orders" / "run_id=r1" / "task_id=fan" / "map_index=3" / "attempt=1.log").write_text(
        "a plain line\n")

    failed = _one(loki_sink, lambda log: log.body == "Task failed with exception", "the task's error line")
    assert failed.severity_number == 17
    assert failed.resource["service.name"] == "airflow-task"
    assert failed.attributes["airflow.dag_id"] == "orders"
    assert failed.attributes["airflow.dag_run.run_id"] == "manual__2026-12-01T21:00:00+00:00"
    assert failed.attributes["airflow.task_id"] == "load"
    assert failed.attributes["airflow.task_instance.try_number"] == "2"
    assert failed.attributes["logger"] == "task"
    assert "airflow.task_instance.map_index" not in failed.attributes
    assert "log.file.path" not in failed.attributes
    assert failed.time_unix_nano == 1796158803000000000

    info = _one(loki_sink, lambda log: log.body == "Loading 10 rows", "the task's info line")
    assert info.severity_number == 9  # INFO

    mapped = _one(loki_sink, lambda log: log.body == "a plain line", "a mapped task's non-JSON line")
    assert mapped.attributes["airflow.task_instance.map_index"] == "3"
    assert mapped.attributes["airflow.task_id"] == "fan"


def test_a_restarted_collector_resumes_where_it_stopped(otelcol_binary: Path, tmp_path: Path,
                                                       loki_sink: HttpLogSink, dirs: dict[str, Path]) -> None:
    container_dir = dirs["containers"] / CONTAINER_ID
    container_dir.mkdir()
    log_file = container_dir / f"{CONTAINER_ID}-json.log"
    log_file.write_text(_json_file_line("before the restart", "stdout", "mariadb", "2026-12-01T21:00:00Z"))

    def start(name: str) -> Collector:
        collector = Collector(otelcol_binary, tmp_path / name, tempo_endpoint="", api_url="", config=CONFIG)
        collector.env.update({
            "LOKI_OTLP_ENDPOINT": loki_sink.url,
            "OTELCOL_CONTAINER_LOGS_DIR": str(dirs["containers"]),
            "OTELCOL_AIRFLOW_LOGS_DIR": str(dirs["airflow"]),
            "OTELCOL_LOGS_STATE_DIR": str(dirs["state"]),
        })
        return collector.start()

    first = start("first")
    try:
        _one(loki_sink, lambda log: log.body == "before the restart", "the line before the restart")
    finally:
        assert first.stop() == 0
    with log_file.open("a") as out:
        out.write(_json_file_line("while it was down", "stdout", "mariadb", "2026-12-01T21:00:01Z"))
    second = start("second")
    try:
        logs = loki_sink.wait_for(lambda got: any(log.body == "while it was down" for log in got), TIMEOUT,
                                  "the line written while the collector was down")
    finally:
        second.stop()
    assert [log.body for log in logs] == ["before the restart", "while it was down"]


# ---------------------------------------------------------------- scripts/smoke_logs.sh

SMOKE_LOGS = REPO / "scripts" / "smoke_logs.sh"
# Stands in for `docker compose --profile logs exec -T otelmon-api python - ARGS`: runs that program here.
_FAKE_DOCKER = """#!/bin/sh
echo "$@" >> "{calls}"
shift 6
[ "$1" = "python" ] || exit 97
shift
exec python3 "$@"
"""


class _FakeLoki:
    """Loki's query_range API over what the stand-in sink received: the script's checks pass only for data that
    really went through the collector."""

    def __init__(self, sink: HttpLogSink) -> None:
        self.queries: list[str] = []
        loki = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's method name
                query = parse_qs(urlparse(self.path).query)["query"][0]
                loki.queries.append(query)
                body = json.dumps({"status": "success", "data": {"resultType": "streams",
                                                                "result": loki.answer(query)}}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - signature of the base class
                pass

        self._sink = sink
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def answer(self, query: str) -> list[dict]:
        if query == '{service_name="otelmon-api"}':
            return [{"stream": {"service_name": "otelmon-api"}, "values": [["1", "started"]]}]
        match = re.fullmatch(r'\{service_name="([^"]+)"\} \| trace_id="([0-9a-f]{32})"', query)
        if not match:
            return []
        found = [log for log in self._sink.wait_for(lambda _: True, 1, "anything")
                 if log.resource.get("service.name") == match.group(1) and log.trace_id == match.group(2)]
        return [{"stream": {"service_name": match.group(1)}, "values": [["1", str(found[0].body)]]}] if found else []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _run_smoke_logs(tmp_path: Path, loki: _FakeLoki, collector_url: str) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    docker = bin_dir / "docker"
    docker.write_text(_FAKE_DOCKER.format(calls=tmp_path / "docker-calls"))
    docker.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "LOKI_URL": loki.url,
           "OTELCOL_LOGS_URL": collector_url, "SMOKE_TIMEOUT": "20"}
    return subprocess.run(["bash", str(SMOKE_LOGS)], capture_output=True, text=True, env=env, timeout=120,
                          check=False)


def test_the_logs_smoke_script_finds_its_record_in_loki_by_trace_id(collector: Collector, loki_sink: HttpLogSink,
                                                                    tmp_path: Path) -> None:
    loki = _FakeLoki(loki_sink)
    try:
        result = _run_smoke_logs(tmp_path, loki, collector.otlp_http_traces_url.removesuffix("/v1/traces"))
    finally:
        loki.stop()
    assert result.returncode == 0, result.stdout + result.stderr
    (record,) = [log for log in loki_sink.wait_for(lambda _: True, 1, "anything")
                 if log.resource.get("service.name") == "otelmon-smoke"]
    assert record.severity_text == "ERROR"
    assert loki.queries[-1] == f'{{service_name="otelmon-smoke"}} | trace_id="{record.trace_id}"'
    assert (tmp_path / "docker-calls").read_text().startswith("compose --profile logs exec -T otelmon-api python - ")
    assert "an OTLP log record is in Loki with its trace id" in result.stdout


def test_the_logs_smoke_script_fails_when_the_record_cannot_be_sent(loki_sink: HttpLogSink, tmp_path: Path) -> None:
    loki = _FakeLoki(loki_sink)
    try:
        result = _run_smoke_logs(tmp_path, loki, f"http://127.0.0.1:{free_port()}")
    finally:
        loki.stop()
    assert result.returncode != 0
    assert "could not send an OTLP log record to otelcol-logs" in result.stderr
