"""Receiver throughput: spans/s accepted end to end into MariaDB by one uvicorn worker.

Prints, from one run: the end-to-end rate, the decode-only rate of the same payloads (the ceiling a
single Python process could reach) and their ratio, plus the server's peak RSS.

    .venv/bin/python -m benchmarks.ingest_throughput [--batches 600] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from benchmarks.lean_client import post_all_threads
from benchmarks.payloads import ERRORS_PER_BATCH, SPANS_PER_BATCH, make_batch
from otelmon.failures.extract import extract_failures
from otelmon.otlp.decode import PROTOBUF, decode_request
from tests.harness.api_server import ApiServer
from tests.harness.mariadb import MariaDBServer


def decode_only_rate(payloads: list[bytes]) -> float:
    started = time.perf_counter()
    for body in payloads:
        extract_failures(decode_request(body, PROTOBUF, "gzip", 64 * 1024 * 1024))
    return len(payloads) * SPANS_PER_BATCH / (time.perf_counter() - started)


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=2000)
    # The collector's sending queue uses 10 consumers by default: what the API sees in the stack.
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()

    payloads = [make_batch(n) for n in range(args.batches)]
    warmup = [make_batch(n, run="warmup") for n in range(20)]
    with tempfile.TemporaryDirectory() as tmp:
        db = MariaDBServer(Path(tmp) / "db").start()
        try:
            url = db.create_database("bench")
            # The receiver alone; benchmarks.alert_latency measures the cost of alerting on top.
            api = ApiServer({"OTELMON_DATABASE_URL": url, "OTELMON_ALERTS_ENABLED": "false"}).start()
            try:
                post_all_threads(api.url, warmup, args.concurrency)
                e2e = post_all_threads(api.url, payloads, args.concurrency) * SPANS_PER_BATCH
                rss = peak_rss_mib(api.process.pid)
            finally:
                api.stop()
            engine = create_engine(url)
            with engine.connect() as conn:
                stored = conn.execute(text("SELECT COUNT(*) FROM failures")).scalar_one()
            engine.dispose()
        finally:
            db.remove()
    ceiling = decode_only_rate(payloads)
    expected = (args.batches + len(warmup)) * ERRORS_PER_BATCH
    print(f"batches: {args.batches} x {SPANS_PER_BATCH} spans, {ERRORS_PER_BATCH} errors each, protobuf+gzip, "
          f"{args.concurrency} concurrent clients, 1 uvicorn worker, MariaDB")
    print(f"end-to-end:  {e2e:12,.0f} spans/s")
    print(f"decode-only: {ceiling:12,.0f} spans/s")
    print(f"ratio:       {e2e / ceiling:12.2f}")
    print(f"server peak RSS: {rss:.0f} MiB")
    print(f"failure rows stored: {stored} (expected {expected})")
    if stored != expected:
        raise SystemExit("stored rows do not match the errors sent")


if __name__ == "__main__":
    main()
