"""Pipeline throughput: spans/s through the real collector (configs/otelcol.yaml) into the OtelMon API.

Sends the same kind of OTLP/HTTP requests the SDK's exporter sends (protobuf + gzip, 512 spans,
1 % errors) twice in one run, each time into a fresh MariaDB database:
  - directly to the API (every span reaches it), timed until the last response;
  - to the collector, timed until the last failure row is in MariaDB (the collector keeps 1 %).
Prints both rates, their ratio, and the collector's peak RSS. A stand-in gRPC sink that accepts without
decoding takes Tempo's place, so it costs the 2 cores as little as possible.

    scripts/setup/collector.sh   # builds the collector once; or set OTELMON_OTELCOL_BIN
    .venv/bin/python -m benchmarks.collector_pipeline [--batches 600] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from concurrent import futures
from pathlib import Path

import grpc
from sqlalchemy import create_engine, text

from benchmarks.ingest_throughput import peak_rss_mib
from benchmarks.lean_client import post_all_threads
from benchmarks.payloads import ERRORS_PER_BATCH, SPANS_PER_BATCH, make_batch
from tests.collector.otelcol_process import REPO, Collector
from tests.harness.api_server import ApiServer
from tests.harness.mariadb import MariaDBServer

DRAIN_TIMEOUT = 600


class CountingTempo:
    """An OTLP/gRPC TraceService that accepts every request without decoding it."""

    def __init__(self) -> None:
        handler = grpc.unary_unary_rpc_method_handler(self._export)  # no (de)serializers: raw bytes
        service = grpc.method_handlers_generic_handler(
            "opentelemetry.proto.collector.trace.v1.TraceService", {"Export": handler}
        )
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), handlers=[service])
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()

    @staticmethod
    def _export(request: bytes, context: grpc.ServicerContext) -> bytes:
        return b""  # an empty ExportTraceServiceResponse

    def stop(self) -> None:
        self.server.stop(grace=1).wait(5)


def failure_rows(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT COUNT(*) FROM failures")).scalar_one()
    finally:
        engine.dispose()


def wait_rows(url: str, expected: int) -> None:
    # The API commits failures as the collector delivers them; the count is the only completion signal.
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while (rows := failure_rows(url)) < expected:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {rows} of {expected} failures stored after {DRAIN_TIMEOUT}s")
        time.sleep(0.2)


def collector_binary() -> Path:
    given = os.environ.get("OTELMON_OTELCOL_BIN")
    if given:
        return Path(given)
    out = subprocess.run(["bash", str(REPO / "scripts/setup/collector.sh")], capture_output=True, text=True,
                         check=True, timeout=2400).stdout
    return Path(out.strip().splitlines()[-1])


def run_direct(db: MariaDBServer, payloads: list[bytes], warmup: list[bytes], concurrency: int) -> float:
    url = db.create_database("direct")
    api = ApiServer({"OTELMON_DATABASE_URL": url}).start()
    try:
        post_all_threads(api.url, warmup, concurrency)
        started = time.perf_counter()
        post_all_threads(api.url, payloads, concurrency)
        elapsed = time.perf_counter() - started
    finally:
        api.stop()
    check_rows(url, len(payloads) + len(warmup))
    return len(payloads) * SPANS_PER_BATCH / elapsed


def run_pipeline(db: MariaDBServer, binary: Path, workdir: Path, payloads: list[bytes], warmup: list[bytes],
                 concurrency: int) -> tuple[float, float, float]:
    url = db.create_database("pipeline")
    api = ApiServer({"OTELMON_DATABASE_URL": url}).start()
    tempo = CountingTempo()
    collector = Collector(binary, workdir, tempo_endpoint=f"127.0.0.1:{tempo.port}", api_url=api.url).start()
    try:
        post_all_threads(collector.otlp_http_traces_url.removesuffix("/v1/traces"), warmup, concurrency)
        wait_rows(url, len(warmup) * ERRORS_PER_BATCH)
        started = time.perf_counter()
        post_all_threads(collector.otlp_http_traces_url.removesuffix("/v1/traces"), payloads, concurrency)
        accepted = time.perf_counter() - started
        wait_rows(url, (len(payloads) + len(warmup)) * ERRORS_PER_BATCH)
        elapsed = time.perf_counter() - started
        rss = peak_rss_mib(collector.process.pid)
    finally:
        collector.stop()
        tempo.stop()
        api.stop()
    check_rows(url, len(payloads) + len(warmup))
    spans = len(payloads) * SPANS_PER_BATCH
    return spans / elapsed, spans / accepted, rss


def check_rows(url: str, batches: int) -> None:
    stored, expected = failure_rows(url), batches * ERRORS_PER_BATCH
    if stored != expected:
        raise SystemExit(f"{stored} failure rows stored, expected {expected}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()

    binary = collector_binary()
    with tempfile.TemporaryDirectory() as tmp:
        db = MariaDBServer(Path(tmp) / "db").start()
        try:
            direct = run_direct(db, [make_batch(n, run="direct") for n in range(args.batches)],
                                [make_batch(n, run="direct-warmup") for n in range(20)], args.concurrency)
            pipeline, accepted, rss = run_pipeline(
                db, binary, Path(tmp) / "otelcol", [make_batch(n, run="pipeline") for n in range(args.batches)],
                [make_batch(n, run="pipeline-warmup") for n in range(20)], args.concurrency)
        finally:
            db.remove()
    print(f"batches: {args.batches} x {SPANS_PER_BATCH} spans, {ERRORS_PER_BATCH} errors each, protobuf+gzip, "
          f"{args.concurrency} concurrent clients, 1 uvicorn worker, MariaDB, 2 cores shared by all")
    print(f"API alone (every span to the API):        {direct:12,.0f} spans/s")
    print(f"collector -> API (until last failure row): {pipeline:12,.0f} spans/s")
    print(f"collector intake (until last 200):        {accepted:12,.0f} spans/s")
    print(f"ratio pipeline / API alone:                {pipeline / direct:12.2f}")
    print(f"collector peak RSS: {rss:.0f} MiB")


if __name__ == "__main__":
    main()
