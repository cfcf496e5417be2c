"""The benchmarks' OTLP/HTTP load generator: http.client in threads over keep-alive connections.

Lean on purpose: on a 2-core machine the load generator competes with the server for CPU, and httpx
spends ~2 ms of CPU per request where this spends a fraction, so a heavy client would slow the very
server it measures.
"""

from __future__ import annotations

import http.client
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from urllib.parse import urlsplit

from otelmon.otlp.decode import PROTOBUF

GZIP_PROTOBUF = {"content-type": PROTOBUF, "content-encoding": "gzip"}
PLAIN_PROTOBUF = {"content-type": PROTOBUF}


def post_traces(conn: http.client.HTTPConnection, body: bytes, headers: dict[str, str]) -> int | str:
    """POST one export request; the HTTP status, or the error after three tries.

    As an OTLP client does: a dropped connection is reopened and the request sent again (bounded).
    """
    for attempt in range(3):
        try:
            conn.request("POST", "/v1/traces", body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            return response.status
        except (ConnectionError, http.client.HTTPException) as exc:
            conn.close()
            if attempt == 2:
                return repr(exc)
    raise AssertionError("unreachable")


def _run_workers(url: str, concurrency: int, take: Callable[[], Iterator], headers: dict[str, str],
                 on_done: Callable[[object, float], None]) -> None:
    parsed = urlsplit(url)
    errors: list[str] = []

    def worker() -> None:
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=60)
        try:
            for key, body in take():
                status = post_traces(conn, body, headers)
                if status != 200:
                    errors.append(f"HTTP {status}" if isinstance(status, int) else status)
                else:
                    on_done(key, time.monotonic())
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed, e.g. {errors[0]}")


def post_all_threads(url: str, payloads: Sequence[bytes], concurrency: int,
                     headers: dict[str, str] = GZIP_PROTOBUF) -> float:
    """Requests/s for posting every payload once, as fast as ``concurrency`` connections go."""
    work: queue.SimpleQueue[tuple[int, bytes]] = queue.SimpleQueue()
    for item in enumerate(payloads):
        work.put(item)

    def take() -> Iterator[tuple[int, bytes]]:
        while True:
            try:
                yield work.get_nowait()
            except queue.Empty:
                return

    started = time.perf_counter()
    _run_workers(url, concurrency, take, headers, lambda key, at: None)
    return len(payloads) / (time.perf_counter() - started)


def post_at_rate(url: str, items: Sequence[tuple[str, bytes]], rate: float, concurrency: int = 20,
                 headers: dict[str, str] = PLAIN_PROTOBUF) -> dict[str, float]:
    """Post ``(key, body)`` items at a steady ``rate`` per second; returns each key's time.monotonic()
    of acceptance (the 200 reaching the client).

    Requests are released on schedule by the calling thread; if every connection is busy, a request
    waits here, unsent, so a slow server shows up as fewer requests per second, never as a flattering
    latency (which is counted from acceptance).
    """
    work: queue.SimpleQueue[tuple[str, bytes] | None] = queue.SimpleQueue()
    accepted: dict[str, float] = {}

    def take() -> Iterator[tuple[str, bytes]]:
        while (item := work.get()) is not None:
            yield item

    failure: list[BaseException] = []

    def run() -> None:
        try:
            _run_workers(url, concurrency, take, headers, accepted.__setitem__)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread below
            failure.append(exc)

    runner = threading.Thread(target=run)
    runner.start()
    start = time.monotonic()
    try:
        for i, item in enumerate(items):
            # Pacing the load generator, not waiting for an event: the schedule is the point.
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            work.put(item)
    finally:
        for _ in range(concurrency):
            work.put(None)
        runner.join()
    if failure:
        raise failure[0]
    return accepted
