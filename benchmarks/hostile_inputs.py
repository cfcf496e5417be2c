"""Hostile but legal inputs against one ``otelmon serve`` on SQLite: peak RSS for the largest protobuf and
OTLP JSON bodies the limits allow, and the time to answer a body of 400,000 empty gzip members.

    .venv/bin/python -m benchmarks.hostile_inputs [--members 400000]
"""

from __future__ import annotations

import argparse
import gzip
import json
import tempfile
import time
from pathlib import Path

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


def reset_peak(pid: int) -> None:
    # Linux: writing 5 to clear_refs resets VmHWM to the current RSS, so each body gets its own peak.
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def measure(client: httpx.Client, pid: int, body: bytes, headers: dict[str, str]) -> tuple[int, float, float]:
    reset_peak(pid)
    started = time.perf_counter()
    answer = client.post("/v1/traces", content=body, headers=headers)
    return answer.status_code, time.perf_counter() - started, peak_rss_mib(pid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=400_000)
    args = parser.parse_args()
    settings = Settings()
    with tempfile.TemporaryDirectory() as tmp:
        api = ApiServer({"OTELMON_DATABASE_URL": f"sqlite:///{tmp}/bench.db", "OTELMON_ALERTS_ENABLED": "false"})
        api.start()
        try:
            pid = api.process.pid
            with httpx.Client(base_url=api.url, timeout=300) as client:
                client.get("/healthz")
                print(f"idle: peak RSS {peak_rss_mib(pid):.0f} MiB")
                cases = [
                    ("protobuf", largest_protobuf(settings.max_body_bytes), "application/x-protobuf"),
                    ("OTLP JSON", largest_json(settings.max_json_body_bytes), "application/json"),
                ]
                for name, body, kind in cases:
                    status, seconds, rss = measure(client, pid, body, {"content-type": kind})
                    print(f"largest legal {name} body ({len(body) / MIB:.1f} MiB): {status} in {seconds:.1f} s, "
                          f"peak RSS {rss:.0f} MiB")
                json_body = largest_json(settings.max_body_bytes)
                status, seconds, rss = measure(client, pid, json_body, {"content-type": "application/json"})
                print(f"OTLP JSON at the protobuf limit ({settings.max_body_bytes / MIB:.0f} MiB): {status} in "
                      f"{seconds:.1f} s, peak RSS {rss:.0f} MiB")
                body = gzip.compress(b"", mtime=0) * args.members
                headers = {"content-type": "application/x-protobuf", "content-encoding": "gzip"}
                status, seconds, _ = measure(client, pid, body, headers)
                print(f"{args.members:,} empty gzip members ({len(body) / MIB:.1f} MiB): {status} in {seconds:.2f} s")
        finally:
            api.stop()


if __name__ == "__main__":
    main()
