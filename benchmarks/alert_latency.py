"""Alert latency and the cost of alerting on ingest.

1. Latency from a failing span's acceptance by ``/v1/traces`` (the 200 reaching the client) to its email's
   arrival at the SMTP server (aiosmtpd on loopback), p50/p95/p99, under a steady rate of failures
   (default 100/s, each a distinct failure so none is grouped or throttled; the storm cap is raised
   above that rate, as a team expecting such volume would set it).
2. Ingest throughput (the receiver benchmark's payloads: 512 spans, 1 % errors, protobuf + gzip) with
   alerting on against the same API with alerting off, in the same run.

    .venv/bin/python -m benchmarks.alert_latency [--rate 100] [--seconds 30]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, text

from benchmarks.lean_client import post_all_threads, post_at_rate
from benchmarks.payloads import SPANS_PER_BATCH, make_batch
from otelmon.config import Settings
from tests.harness.api_server import ApiServer
from tests.harness.mariadb import MariaDBServer
from tests.harness.ports import free_port
from tests.harness.smtp import SmtpSink
from tests.harness.spans import SpanFactory, protobuf_body


def failing_bodies(count: int) -> list[tuple[str, bytes]]:
    bodies = []
    for n in range(count):
        spans = SpanFactory("bench")
        process = f"step_{n:06d}"
        spans.failing(process, {"otelmon.platform": "airflow", "otelmon.group": "latency",
                                "otelmon.process": process, "otelmon.run_id": "r", "otelmon.try_number": 1})
        bodies.append((process, protobuf_body(spans.take())))
    return bodies


def _sink_process(port: int, count: int, ready, results) -> None:
    sink = SmtpSink(port).start()
    ready.set()
    received = sink.wait_for(count, timeout=300)
    results.put([(r.message["Subject"].rsplit(" / ", 1)[1], r.arrived) for r in received])
    sink.stop()


def start_sink(count: int) -> tuple[int, multiprocessing.Process, multiprocessing.Queue]:
    """The SMTP server in its own process, as a real one is: the load generator's GIL must not slow its
    answers. time.monotonic() is system-wide on Linux, so its timestamps compare with the client's."""
    port = free_port()
    ready, results = multiprocessing.Event(), multiprocessing.Queue()
    process = multiprocessing.Process(target=_sink_process, args=(port, count, ready, results), daemon=True)
    process.start()
    if not ready.wait(30):
        raise RuntimeError("SMTP sink did not start")
    return port, process, results


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 1000) - 1]


_STAGES_SQL = text(
    "SELECT f.process_name, ob.due_at, a.created_at FROM failures f"
    " JOIN alert_outbox ob ON ob.failure_id = f.id JOIN alerts a ON a.id = ob.alert_id"
)


def stages(db_url: str, accepted: dict[str, float], arrival: dict[str, float]) -> dict[str, list[float]]:
    """Where the time goes for each failure emailed, from the timestamps the API stored: waiting for the group,
    waiting for a dispatch pass, and from the alert's creation to the message's arrival (claim, compose, send).
    The client's and the sink's monotonic clocks are turned into wall-clock time with one offset
    (both are the same system clock on Linux)."""
    offset = time.time() - time.monotonic()
    epoch = datetime(1970, 1, 1)
    out: dict[str, list[float]] = {"group wait": [], "dispatch": [], "claim+compose+send": []}
    engine = create_engine(db_url)
    with engine.connect() as conn:
        for process, due_at, created_at in conn.execute(_STAGES_SQL):
            if process not in arrival:  # not emailed (yet): no stage to measure
                continue
            due, created = ((t - epoch).total_seconds() for t in (due_at, created_at))
            out["group wait"].append(due - (accepted[process] + offset))
            out["dispatch"].append(created - due)
            out["claim+compose+send"].append(arrival[process] + offset - created)
    engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0, help="failures per second")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--batches", type=int, default=2000, help="ingest batches for the throughput ratio")
    parser.add_argument("--rounds", type=int, default=5,
                        help="alternating off/on rounds (medians are printed); 0: latency only")
    args = parser.parse_args()
    count = int(args.rate * args.seconds)
    bodies = failing_bodies(count)
    batch_bodies = [make_batch(n, run="alerts") for n in range(args.batches)]
    payloads = {"off": batch_bodies, "on": batch_bodies}  # each round has its own database

    with tempfile.TemporaryDirectory() as tmp:
        db = MariaDBServer(Path(tmp) / "db").start()
        sink_port, sink_process, sink_results = start_sink(count)
        throughput_sink = SmtpSink().start()
        try:
            common = {"OTELMON_SMTP_HOST": "127.0.0.1", "OTELMON_SMTP_PORT": str(sink_port),
                      "OTELMON_ALERT_RECIPIENTS": "team@example.com"}
            # --- latency ---
            latency_db = db.create_database("latency")
            api = ApiServer({**common, "OTELMON_DATABASE_URL": latency_db,
                             "OTELMON_ALERT_STORM_CAP_PER_MINUTE": str(int(args.rate * 120))}).start()
            try:
                accepted = post_at_rate(api.url, bodies, args.rate)
                arrival = dict(sink_results.get(timeout=300))
            finally:
                api.stop()
                sink_process.join(10)
            common["OTELMON_SMTP_PORT"] = str(throughput_sink.port)
            latencies = [arrival[p] - accepted[p] for p in accepted]
            breakdown = stages(latency_db, accepted, arrival)

            # --- throughput, alerting off and on: alternated, medians, so drift on a shared machine
            # (another process waking up) falls on both sides rather than on one ---
            rates: dict[str, list[float]] = {"off": [], "on": []}
            for round_no in range(args.rounds):
                for mode in ("off", "on"):
                    env = {**common, "OTELMON_DATABASE_URL": db.create_database(f"{mode}{round_no}"),
                           "OTELMON_ALERTS_ENABLED": "true" if mode == "on" else "false"}
                    api = ApiServer(env).start()
                    try:
                        rates[mode].append(post_all_threads(api.url, payloads[mode], 10) * SPANS_PER_BATCH)
                    finally:
                        api.stop()
            if args.rounds:
                baseline, with_alerts = statistics.median(rates["off"]), statistics.median(rates["on"])
        finally:
            throughput_sink.stop()
            db.remove()

    print(f"latency, acceptance -> SMTP arrival, {count} failures at {args.rate:.0f}/s "
          f"(default settings; group wait {Settings().alert_group_wait_seconds} s):")
    print(f"  p50 {percentile(latencies, 0.50) * 1000:7.0f} ms")
    print(f"  p95 {percentile(latencies, 0.95) * 1000:7.0f} ms")
    print(f"  p99 {percentile(latencies, 0.99) * 1000:7.0f} ms")
    print(f"  max {max(latencies) * 1000:7.0f} ms")
    print("  where it goes (p50 / p99 of each stage):")
    for stage, values in breakdown.items():
        print(f"    {stage:<20} {percentile(values, 0.50) * 1000:6.0f} / {percentile(values, 0.99) * 1000:6.0f} ms")
    if not args.rounds:
        return
    print(f"ingest, {args.batches} x 512 spans, 1 % errors, protobuf+gzip, 10 clients, "
          f"median of {args.rounds} alternating rounds:")
    print(f"  alerting off: {baseline:10,.0f} spans/s")
    print(f"  alerting on:  {with_alerts:10,.0f} spans/s")
    print(f"  ratio:        {with_alerts / baseline:10.2f}")


if __name__ == "__main__":
    main()
