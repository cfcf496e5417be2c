"""Hostile but legal inputs against one ``otelmon serve`` on SQLite: peak RSS for the largest protobuf and
OTLP JSON bodies the limits allow, and the time to answer a body of 400,000 empty gzip members.

    .venv/bin/python -m benchmarks.hostile_inputs [--members 400000]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from benchmarks.ingest_throughput import peak_rss_mib
from benchmarks.payloads import make_batch
from otelmon.config import Settings
from tests.harness.api_server import ApiServer
from tests.ingest.otlp_bodies import otlp_json

MIB = 1024 * 1024


def _batch() -> ExportTraceServiceRequest:
    return ExportTraceServiceRequest.FromString(gzip.decompress(make_batch(0)))


def largest_protobuf(limit: int) -> bytes:
    """Copies of a 512-span batch (1 % errors) as resource spans, up to just under the limit."""
    one = _batch().resource_spans[0]
    request = ExportTraceServiceRequest()
    size = one.ByteSize() + 8
    for _ in range(limit // size - 1):
        request.resource_spans.add().CopyFrom(one)
    return request.SerializeToString()


def largest_json(limit: int) -> bytes:
    one = json.dumps(otlp_json(_batch())["resourceSpans"][0]).encode()
    copies = (limit - 64) // (len(one) + 1)
    return b'{"resourceSpans":[' + b",".join([one] * copies) + b"]}"


def serve_one(tmp: str, body: bytes, headers: dict[str, str], copies: int,
              extra_env: dict[str, str] | None = None) -> tuple[str, float, float, float]:
    """A fresh server per case (freed memory stays in the process, so a peak must start from idle), ``copies``
    of the body sent at once: statuses, seconds until the last answer, idle and peak RSS in MiB."""
    api = ApiServer({"OTELMON_DATABASE_URL": f"sqlite:///{tmp}/bench.db", "OTELMON_ALERTS_ENABLED": "false",
                     **(extra_env or {})})
    api.start()
    try:
        with httpx.Client(base_url=api.url, timeout=300) as client:
            client.get("/healthz")
            idle = peak_rss_mib(api.process.pid)
            started = time.perf_counter()
            with ThreadPoolExecutor(copies) as pool:
                answers = list(pool.map(lambda _: client.post("/v1/traces", content=body, headers=headers),
                                        range(copies)))
            statuses = ",".join(sorted({str(a.status_code) for a in answers}))
            return statuses, time.perf_counter() - started, idle, peak_rss_mib(api.process.pid)
    finally:
        api.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=400_000)
    parser.add_argument("--malloc-arena-max", help="MALLOC_ARENA_MAX for the server (the API image sets 2)")
    args = parser.parse_args()
    extra_env = {"MALLOC_ARENA_MAX": args.malloc_arena_max} if args.malloc_arena_max else {}
    # The server gets the body limits this process reads (the harness passes no OTELMON_ variable on).
    extra_env |= {name: value for name, value in os.environ.items()
                  if name in ("OTELMON_MAX_BODY_BYTES", "OTELMON_MAX_JSON_BODY_BYTES")}
    settings = Settings()
    protobuf, json_type = {"content-type": "application/x-protobuf"}, {"content-type": "application/json"}
    largest = largest_protobuf(settings.max_body_bytes)
    cases = [
        ("largest legal protobuf body", largest, protobuf, 1),
        ("3 of them at once", largest, protobuf, 3),
        ("10 of them at once (past the three held: 503 + Retry-After)", largest, protobuf, 10),
        ("largest legal OTLP JSON body", largest_json(settings.max_json_body_bytes), json_type, 1),
        ("OTLP JSON at the protobuf limit", largest_json(settings.max_body_bytes), json_type, 1),
        (f"{args.members:,} empty gzip members", gzip.compress(b"", mtime=0) * args.members,
         {**protobuf, "content-encoding": "gzip"}, 1),
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for name, body, headers, copies in cases:
            statuses, seconds, idle, peak = serve_one(tmp, body, headers, copies, extra_env)
            print(f"{name} ({len(body) / MIB:.1f} MiB): {statuses} in {seconds:.2f} s; "
                  f"peak RSS {peak:.0f} MiB (idle {idle:.0f} MiB)")


if __name__ == "__main__":
    main()
