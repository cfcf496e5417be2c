"""The API's memory is bounded by its byte budgets, not by how many clients send their largest legal body at
once: a regression test of what benchmarks/hostile_inputs.py measures, with a small body limit so it is quick.

Peak RSS is read from the kernel (VmHWM) of a real ``otelmon serve``. The budgets allow three bodies held and
one parsed (a parse takes about six body sizes): measured +87 MiB for 8 MiB bodies; the bound is 16 body
sizes, where twelve parses at once, as before the budgets, would take about 70."""

from __future__ import annotations

import gzip
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from benchmarks.hostile_inputs import largest_protobuf
from benchmarks.ingest_throughput import peak_rss_mib
from tests.harness.api_server import ApiServer

LIMIT = 8 * 1024 * 1024
CLIENTS = 12


@pytest.mark.parametrize("encoding", ["identity", "gzip"])
def test_many_largest_bodies_at_once_stay_within_the_budgets(tmp_path: Path, encoding: str) -> None:
    # gzip: small on the wire, the limit once inflated; it is charged the limit before it is inflated.
    body = largest_protobuf(LIMIT)
    headers = {"content-type": "application/x-protobuf"}
    if encoding == "gzip":
        body = gzip.compress(body)
        headers["content-encoding"] = "gzip"
    api = ApiServer({"OTELMON_DATABASE_URL": f"sqlite:///{tmp_path}/o.db", "OTELMON_ALERTS_ENABLED": "false",
                     "OTELMON_MAX_BODY_BYTES": str(LIMIT)}).start()
    try:
        with httpx.Client(base_url=api.url, timeout=120) as client:
            client.get("/healthz")
            idle = peak_rss_mib(api.process.pid)
            with ThreadPoolExecutor(CLIENTS) as pool:
                answers = list(pool.map(lambda _: client.post("/v1/traces", content=body, headers=headers),
                                        range(CLIENTS)))
            peak = peak_rss_mib(api.process.pid)
    finally:
        api.stop()
    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) <= {200, 503} and statuses.count(200) >= 3, statuses
    assert all(a.headers.get("retry-after") for a in answers if a.status_code == 503)
    grown = peak - idle
    print(f"{CLIENTS} {encoding} bodies of {LIMIT >> 20} MiB at once: {statuses.count(200)} taken, "
          f"peak RSS +{grown:.0f} MiB")
    assert grown < 16 * (LIMIT >> 20), f"peak RSS grew by {grown:.0f} MiB"
