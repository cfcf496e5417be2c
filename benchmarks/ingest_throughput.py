"""Receiver throughput: spans/s accepted end to end into MariaDB by one uvicorn worker.

Prints, from one run: the end-to-end rate, the decode-only rate of the same payloads (the ceiling a
single Python process could reach) and their ratio, plus the server's peak RSS.

    .venv/bin/python -m benchmarks.ingest_throughput [--batches 600] [--concurrency 8]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import queue
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from sqlalchemy import create_engine, text

from benchmarks.payloads import ERRORS_PER_BATCH, SPANS_PER_BATCH, make_batch
from otelmon.failures.extract import extract_failures
from otelmon.otlp.decode import PROTOBUF, decode_request
from tests.harness.api_server import ApiServer
from tests.harness.mariadb import MariaDBServer

HEADERS = {"content-type": PROTOBUF, "content-encoding": "gzip"}


def decode_only_rate(payloads: list[bytes]) -> float:
    started = time.perf_counter()
    for body in payloads:
        extract_failures(decode_request(body, PROTOBUF, "gzip", 64 * 1024 * 1024))
    return len(payloads) * SPANS_PER_BATCH / (time.perf_counter() - started)


def post_all_threads(url: str, payloads: list[bytes], concurrency: int) -> float:
    """Spans/s for posting every payload once over ``concurrency`` keep-alive connections.

    A lean client (http.client in threads) on purpose: on a 2-core machine the load generator competes
    with the server for CPU, and httpx spends ~2 ms of CPU per request where this spends a fraction.
    """
    parsed = urlsplit(url)
    work: queue.SimpleQueue[bytes] = queue.SimpleQueue()
    for body in payloads:
        work.put(body)
    errors: list[str] = []

    def post(conn: http.client.HTTPConnection, body: bytes) -> int:
        # As an OTLP client does: a dropped connection is reopened and the request sent again (bounded).
        for attempt in range(3):
            try:
                conn.request("POST", "/v1/traces", body=body, headers=HEADERS)
                response = conn.getresponse()
                response.read()
                return response.status
            except (ConnectionError, http.client.HTTPException) as exc:
                conn.close()
                if attempt == 2:
                    errors.append(repr(exc))
        return 0

    def worker() -> None:
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
        try:
            while True:
                try:
                    body = work.get_nowait()
                except queue.Empty:
                    return
                status = post(conn, body)
                if status not in (0, 200):
                    errors.append(f"HTTP {status}")
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed, e.g. {errors[0]}")
    return len(payloads) * SPANS_PER_BATCH / elapsed


async def post_all(url: str, payloads: list[bytes], concurrency: int) -> float:
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in payloads:
        queue.put_nowait(body)
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=concurrency)) as client:

        async def worker() -> None:
            while not queue.empty():
                body = queue.get_nowait()
                response = await client.post(f"{url}/v1/traces", content=body, headers=HEADERS)
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
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
                e2e = post_all_threads(api.url, payloads, args.concurrency)
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
