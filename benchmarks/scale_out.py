"""Scale-out: failures stored per second and alert latency with one, two and three API replicas, in one run.

Each configuration gets a fresh MariaDB database (one server for the run) and N ``otelmon serve`` replicas
behind the real collector (the test build of configs/otelcol-builder.yaml), which spreads traces over them by
trace id with its ``load_balancing`` exporter, as tests/scaleout does (tests/scaleout/load_balancer.py: the
exporter speaks only OTLP/gRPC, so each replica is reached through a gRPC hop in the same collector that
forwards with ``otlp_http``). Everything is sent to the collector, never to an API directly.

1. Throughput: ``--failures`` distinct failures (each its own trace and process) in export requests of
   ``--per-request`` spans, posted to the collector as fast as 4 connections go; failures stored per second
   is the count over the time from the first post until the last one is in the ``failures`` table (polled).
   Alerting is on with the default storm cap (20 emails a minute, then one summary), as it is deployed.
2. Alert latency: ``--rate`` failures per second for ``--seconds``, one per request, each its own alert (the
   storm cap raised above the rate); from the collector's acceptance (its 200) to the email's arrival at the
   SMTP server (aiosmtpd in its own process), p50/p99. It includes the collector's 200 ms batch and the
   API's group wait (``OTELMON_ALERT_GROUP_WAIT_SECONDS``, default 0.3 s).

Everything runs on this machine: the load generator, the collector, the replicas, MariaDB and the SMTP
server share its cores, so more replicas add processes competing for the same CPUs; the run prints the core
count and load average. The collector: ``OTELMON_OTELCOL_BIN``, or what scripts/setup/collector.sh builds.

    .venv/bin/python -m benchmarks.scale_out [--replicas 1,2,3] [--failures 6000] [--per-request 100]
        [--rate 50] [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text

from benchmarks.alert_latency import failing_bodies, percentile, start_sink
from benchmarks.lean_client import PLAIN_PROTOBUF, post_all_threads, post_at_rate
from tests.collector.otelcol_process import REPO, Collector
from tests.harness.api_server import ApiServer
from tests.harness.mariadb import MariaDBServer
from tests.harness.smtp import SmtpSink
from tests.harness.spans import SpanFactory, protobuf_body
from tests.harness.waiting import wait_until
from tests.scaleout.load_balancer import start_load_balancer

WARM_UP = 10
TOKEN = "scale-out-benchmark"  # noqa: S105 - the loopback replicas' ingest token


@dataclass
class Figures:
    stored_per_second: float
    p50: float
    p99: float


def collector_binary() -> Path:
    given = os.environ.get("OTELMON_OTELCOL_BIN")
    if given:
        return Path(given)
    built = subprocess.run(["bash", str(REPO / "scripts" / "setup" / "collector.sh")], capture_output=True,
                           text=True, check=True, timeout=2400)
    return Path(built.stdout.strip().splitlines()[-1])


def storm_bodies(failures: int, per_request: int, name: str = "load") -> list[bytes]:
    """Export requests of ``per_request`` failing task spans, each span its own trace and process."""
    bodies = []
    for start in range(0, failures, per_request):
        spans = SpanFactory("bench", resource={"otelmon.platform": "airflow", "otelmon.group": "scale"})
        for n in range(start, min(start + per_request, failures)):
            process = f"{name}_{n:06d}"
            spans.failing(process, {"otelmon.process": process, "otelmon.run_id": "r", "otelmon.try_number": 1})
        bodies.append(protobuf_body(spans.take()))
    return bodies


@contextmanager
def cluster(replicas: int, db_url: str, smtp_port: int, binary: Path, workdir: Path,
            **env: str) -> Iterator[Collector]:
    """``replicas`` APIs on ``db_url`` behind the load-balancing collector; all stopped on exit."""
    apis: list[ApiServer] = []
    collector: Collector | None = None
    try:
        for _ in range(replicas):
            apis.append(ApiServer({"OTELMON_DATABASE_URL": db_url, "OTELMON_INGEST_TOKEN": TOKEN,
                                   "OTELMON_SMTP_HOST": "127.0.0.1", "OTELMON_SMTP_PORT": str(smtp_port),
                                   "OTELMON_SMTP_MAIL_FROM": "otelmon@example.com",
                                   "OTELMON_ALERT_RECIPIENTS": "team@example.com", **env}).start())
        collector = start_load_balancer(binary, workdir, [api.url for api in apis], TOKEN)
        # The load_balancing exporter dials its gRPC hops before their receivers listen (the collector starts
        # exporters first), and gRPC then waits out its reconnect backoff: seconds that belong to start-up,
        # not to what is measured. Warm-up failures, WARM_UP per replica (spread by trace id, so every replica
        # gets some), all stored, mean every hop is connected.
        warm_up = WARM_UP * replicas
        post_all_threads(base_url(collector), storm_bodies(warm_up, warm_up, "warm_up"), 1, PLAIN_PROTOBUF)
        stored = count_stored(db_url)
        wait_until(lambda: stored() >= warm_up, 60, interval=0.05, what="the warm-up failures stored")
        yield collector
    finally:
        if collector is not None:
            collector.stop()
        for api in apis:
            api.stop()


def count_stored(db_url: str) -> Callable[[], int]:
    engine = create_engine(db_url)

    def count() -> int:
        with engine.connect() as conn:
            return conn.execute(text("SELECT COUNT(*) FROM failures")).scalar_one()

    return count


def base_url(collector: Collector) -> str:
    return collector.otlp_http_traces_url.removesuffix("/v1/traces")


def measure(replicas: int, db: MariaDBServer, binary: Path, workdir: Path, args: argparse.Namespace) -> Figures:
    # --- throughput: a fresh database, the default storm cap; the emails go to a sink in this process ---
    throughput_db = db.create_database(f"throughput{replicas}")
    sink = SmtpSink().start()
    try:
        with cluster(replicas, throughput_db, sink.port, binary, workdir / f"tp{replicas}") as collector:
            bodies = storm_bodies(args.failures, args.per_request)
            stored = count_stored(throughput_db)
            started = time.monotonic()
            post_all_threads(base_url(collector), bodies, 4, PLAIN_PROTOBUF)
            # Polled every 20 ms: the count is the event; at thousands per second that is within 1 %.
            total = args.failures + WARM_UP * replicas
            wait_until(lambda: stored() >= total, 300, interval=0.02, what="every failure stored")
            stored_per_second = args.failures / (time.monotonic() - started)
    finally:
        sink.stop()

    # --- latency: a fresh database, a steady rate, each failure its own email ---
    count = int(args.rate * args.seconds)
    latency_db = db.create_database(f"latency{replicas}")
    sink_port, sink_process, sink_results = start_sink(count + WARM_UP * replicas)
    try:
        with cluster(replicas, latency_db, sink_port, binary, workdir / f"lat{replicas}",
                     OTELMON_ALERT_STORM_CAP_PER_MINUTE=str(int(args.rate * 120))) as collector:
            accepted = post_at_rate(base_url(collector), failing_bodies(count), args.rate)
            arrival = dict(sink_results.get(timeout=300))
    finally:
        sink_process.join(10)
        if sink_process.is_alive():
            sink_process.kill()
    latencies = [arrival[p] - accepted[p] for p in accepted]
    return Figures(stored_per_second, percentile(latencies, 0.50), percentile(latencies, 0.99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", default="1,2,3", help="configurations, comma-separated; the first is the base")
    parser.add_argument("--failures", type=int, default=6000, help="failures for the throughput figure")
    parser.add_argument("--per-request", type=int, default=100, help="failing spans per export request")
    parser.add_argument("--rate", type=float, default=50.0, help="failures per second for the latency figure")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    counts = [int(n) for n in args.replicas.split(",")]
    binary = collector_binary()
    load_at_start = ", ".join(f"{value:.1f}" for value in os.getloadavg())

    results: dict[int, Figures] = {}
    with tempfile.TemporaryDirectory() as tmp:
        db = MariaDBServer(Path(tmp) / "db").start()
        try:
            for replicas in counts:
                results[replicas] = measure(replicas, db, binary, Path(tmp), args)
                print(f"  {replicas} replica(s) measured", flush=True)
        finally:
            db.remove()

    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"scale-out through the collector's load_balancing exporter (by trace id), one MariaDB; "
          f"{os.cpu_count()} cores shared by everything and by whatever else runs on the machine "
          f"(load average {load_at_start} at the start, {load} at the end)")
    print(f"throughput: {args.failures} failures in requests of {args.per_request}, 4 connections, alerting on; "
          f"latency: {int(args.rate * args.seconds)} failures at {args.rate:.0f}/s, acceptance -> SMTP arrival")
    base = results[counts[0]]
    print(f"  {'replicas':>8}  {'stored/s':>9}  {'ratio':>5}  {'p50 ms':>7}  {'ratio':>5}  {'p99 ms':>7}  {'ratio':>5}")
    for replicas, got in results.items():
        rate = got.stored_per_second
        print(f"  {replicas:>8}  {rate:>9,.0f}  {rate / base.stored_per_second:>5.2f}"
              f"  {got.p50 * 1000:>7.0f}  {got.p50 / base.p50:>5.2f}"
              f"  {got.p99 * 1000:>7.0f}  {got.p99 / base.p99:>5.2f}")


if __name__ == "__main__":
    main()
