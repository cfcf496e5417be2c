"""What the console's pages cost against the JSON API reading the same rows, in one run.

A fresh API (``otelmon serve``, token set, alerts off) on a private MariaDB, filled through ``/v1/traces`` with
``--failures`` failing task spans over ``--issues`` issues (several tries of a run each). Then one logged-in
client asks each page ``--requests`` times in turn, one request at a time, and each JSON baseline as often:

    console page                     JSON baseline (the same rows)
    /console/issues                  /api/v1/issues?limit=50
    /console/issues/{fingerprint}    /api/v1/issues?limit=1 + /api/v1/failures?process=...&limit=20
    /console/failures                /api/v1/failures?limit=50
    /console/failures/{id}           /api/v1/failures/{id}
    /console/  (overview)            /api/v1/alerts?limit=1 (counts by state)
    /console/silences, /console/alerts, /console/digest  (no baseline)

Prints p50 / p99 per page in milliseconds and the ratio to its baseline.

    .venv/bin/python -m benchmarks.console_pages [--failures 20000] [--issues 2000] [--requests 200]
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.channel_latency import percentile
from tests.harness.api_server import ApiServer
from tests.harness.mariadb import MariaDBServer
from tests.harness.spans import SpanFactory, protobuf_body

TOKEN = "bench-console-token"  # noqa: S105 - a loopback benchmark's own
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BATCH = 500


def fill(api: ApiServer, failures: int, issues: int) -> None:
    with httpx.Client(base_url=api.url, headers={**AUTH, "Content-Type": "application/x-protobuf"},
                      timeout=60) as client:
        for start in range(0, failures, BATCH):
            spans = SpanFactory("bench")
            for n in range(start, min(start + BATCH, failures)):
                step = n % issues
                spans.failing(f"step_{step:05d}", {
                    "otelmon.platform": "airflow", "otelmon.group": f"dag_{step % 40:02d}",
                    "otelmon.process": f"step_{step:05d}", "otelmon.run_id": f"run-{n // issues // 2}",
                    "otelmon.try_number": 1 + (n // issues) % 2})
            client.post("/v1/traces", content=protobuf_body(spans.take())).raise_for_status()


def logged_in(api: ApiServer) -> httpx.Client:
    client = httpx.Client(base_url=api.url, timeout=60)
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/console/login").text).group(1)
    answer = client.post("/console/login", data={"csrf": csrf, "token": TOKEN, "next": "/console/"})
    assert answer.status_code == 303, answer.status_code
    return client


def timed(client: httpx.Client, paths: list[str], requests: int) -> list[float]:
    spent = []
    for _ in range(requests):
        began = time.perf_counter()
        for path in paths:
            answer = client.get(path, headers=AUTH)
            assert answer.status_code == 200, (path, answer.status_code)
        spent.append((time.perf_counter() - began) * 1000)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--failures", type=int, default=20000)
    parser.add_argument("--issues", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = MariaDBServer(Path(tmp) / "db").start()
        api = None
        try:
            api = ApiServer({"OTELMON_DATABASE_URL": db.create_database("console"), "OTELMON_INGEST_TOKEN": TOKEN,
                             "OTELMON_ALERTS_ENABLED": "false"}).start()
            began = time.perf_counter()
            fill(api, args.failures, args.issues)
            print(f"stored {args.failures} failures over {args.issues} issues in {time.perf_counter() - began:.1f} s")
            client = logged_in(api)
            failure = client.get("/api/v1/failures", params={"limit": 1}, headers=AUTH).json()["items"][0]
            fp, fid, process = failure["fingerprint"], failure["id"], failure["process"]
            pages = [
                ("issues list", ["/console/issues"], ["/api/v1/issues?limit=50"]),
                ("an issue", [f"/console/issues/{fp}"],
                 ["/api/v1/issues?limit=1", f"/api/v1/failures?process={process}&limit=20"]),
                ("failures list", ["/console/failures"], ["/api/v1/failures?limit=50"]),
                ("a failure", [f"/console/failures/{fid}"], [f"/api/v1/failures/{fid}"]),
                ("overview", ["/console/"], ["/api/v1/alerts?limit=1"]),
                ("silences", ["/console/silences"], None),
                ("alerts", ["/console/alerts"], None),
                ("next digest", ["/console/digest"], None),
            ]
            print(f"{'page':<16}{'p50 ms':>10}{'p99 ms':>10}{'JSON p50':>10}{'JSON p99':>10}{'ratio p50':>11}")
            for name, console_paths, json_paths in pages:
                timed(client, console_paths, 5)  # templates compiled, connections open
                spent = timed(client, console_paths, args.requests)
                p50, p99 = percentile(spent, 0.5), percentile(spent, 0.99)
                if json_paths is None:
                    print(f"{name:<16}{p50:>10.1f}{p99:>10.1f}{'-':>10}{'-':>10}{'-':>11}")
                    continue
                timed(client, json_paths, 5)
                base = timed(client, json_paths, args.requests)
                b50, b99 = percentile(base, 0.5), percentile(base, 0.99)
                print(f"{name:<16}{p50:>10.1f}{p99:>10.1f}{b50:>10.1f}{b99:>10.1f}{p50 / b50:>11.2f}")
            client.close()
        finally:
            if api is not None:
                api.stop()
            db.stop()


if __name__ == "__main__":
    main()
