"""The extra ingest load of task-level spans: the collector pipeline with runs against errors only.

The same SDK-shaped requests (protobuf + gzip, 512 spans: one task-level span per try next to its step spans,
1 % of the spans errors, see benchmarks.payloads.make_try_batch) go through the real collector into the API,
each run with a fresh MariaDB database, alternating:
  - errors only: configs/otelcol.yaml with ``filter/failures_and_runs`` keeping ERROR spans alone (the
    pipeline before runs were recorded);
  - with task spans: configs/otelcol.yaml as it is (ERROR spans and every task-level span).
Each is timed from the first request to the moment the last row (failures and runs) is in MariaDB. Prints
spans/s through the pipeline, the rows/s the API stored, the spans the API was sent, and the ratios
(medians over the rounds).

    .venv/bin/python -m benchmarks.task_span_load [--batches 2000] [--steps-per-try 15] [--rounds 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy import create_engine, text

from benchmarks.collector_pipeline import DRAIN_TIMEOUT, CountingTempo, collector_binary
from benchmarks.ingest_throughput import peak_rss_mib
from benchmarks.lean_client import post_all_threads
from benchmarks.payloads import ERRORS_PER_BATCH, SPANS_PER_BATCH, make_try_batch, tries_per_batch
from tests.collector.otelcol_process import CONFIG, Collector
from tests.harness.api_server import ApiServer
from tests.harness.mariadb import MariaDBServer

FILTER = "filter/failures_and_runs"
ERRORS_ONLY = "span.status.code != STATUS_CODE_ERROR"  # the drop condition: every non-ERROR span goes


def errors_only_config(path: Path) -> Path:
    """configs/otelcol.yaml with the API's filter keeping ERROR spans only."""
    config = yaml.safe_load(CONFIG.read_text())
    config["processors"][FILTER]["trace_conditions"] = [ERRORS_ONLY]
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def stored_rows(url: str) -> tuple[int, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return (conn.execute(text("SELECT COUNT(*) FROM failures")).scalar_one(),
                    conn.execute(text("SELECT COUNT(*) FROM runs")).scalar_one())
    finally:
        engine.dispose()


def wait_for_rows(url: str, expected: tuple[int, int]) -> None:
    # The API commits rows as the collector delivers them; the counts are the only completion signal.
    deadline = time.monotonic() + DRAIN_TIMEOUT
    while (rows := stored_rows(url)) != expected:
        if time.monotonic() > deadline or rows[0] > expected[0] or rows[1] > expected[1]:
            raise SystemExit(f"(failures, runs) stored: {rows}, expected {expected}")
        time.sleep(0.1)


@dataclass
class Mode:
    name: str
    config: Path
    runs_per_batch: int  # task-level spans of a batch the collector forwards


@dataclass
class Figures:
    spans_per_s: float
    rows_per_s: float
    rows: int
    collector_rss_mib: float


def run_once(db: MariaDBServer, binary: Path, workdir: Path, mode: Mode, database: str, payloads: list[bytes],
             warmup: list[bytes], concurrency: int) -> Figures:
    url = db.create_database(database)
    api = ApiServer({"OTELMON_DATABASE_URL": url}).start()
    tempo = CountingTempo()
    collector = Collector(binary, workdir / database, tempo_endpoint=f"127.0.0.1:{tempo.port}", api_url=api.url,
                          config=mode.config).start()
    intake = collector.otlp_http_traces_url.removesuffix("/v1/traces")
    try:
        post_all_threads(intake, warmup, concurrency)
        before = (len(warmup) * ERRORS_PER_BATCH, len(warmup) * mode.runs_per_batch)
        wait_for_rows(url, before)
        started = time.perf_counter()
        post_all_threads(intake, payloads, concurrency)
        batches = len(payloads) + len(warmup)
        wait_for_rows(url, (batches * ERRORS_PER_BATCH, batches * mode.runs_per_batch))
        elapsed = time.perf_counter() - started
        rss = peak_rss_mib(collector.process.pid)
    finally:
        collector.stop()
        tempo.stop()
        api.stop()
    rows = len(payloads) * (ERRORS_PER_BATCH + mode.runs_per_batch)
    return Figures(len(payloads) * SPANS_PER_BATCH / elapsed, rows / elapsed, rows, rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--steps-per-try", type=int, default=15, help="step spans next to each try's task span")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (medians are printed)")
    args = parser.parse_args()

    binary = collector_binary()
    tries = tries_per_batch(args.steps_per_try)
    results: dict[str, list[Figures]] = {"errors only": [], "with task spans": []}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        modes = [Mode("errors only", errors_only_config(workdir / "otelcol-errors-only.yaml"), ERRORS_PER_BATCH),
                 Mode("with task spans", CONFIG, tries)]
        db = MariaDBServer(workdir / "db").start()
        try:
            for round_no in range(args.rounds):
                for number, mode in enumerate(modes):
                    run = f"r{round_no}m{number}"
                    payloads = [make_try_batch(n, run, args.steps_per_try) for n in range(args.batches)]
                    warmup = [make_try_batch(n, f"{run}w", args.steps_per_try) for n in range(20)]
                    results[mode.name].append(run_once(db, binary, workdir, mode, run, payloads, warmup,
                                                       args.concurrency))
        finally:
            db.remove()

    print(f"batches: {args.batches} x {SPANS_PER_BATCH} spans ({tries} tries of one task span and up to "
          f"{args.steps_per_try} steps), {ERRORS_PER_BATCH} errors each (task spans), protobuf+gzip, "
          f"{args.concurrency} concurrent clients -> otelcol -> 1 uvicorn worker, MariaDB; "
          f"median of {args.rounds} alternating rounds")
    medians = {}
    for name, figures in results.items():
        spans = statistics.median(f.spans_per_s for f in figures)
        rows = statistics.median(f.rows_per_s for f in figures)
        medians[name] = (spans, rows)
        print(f"  {name:<16} {spans:12,.0f} spans/s   API {rows:9,.0f} rows/s ({figures[0].rows:,} rows: "
              f"failures + runs)   collector peak RSS {max(f.collector_rss_mib for f in figures):.0f} MiB   "
              f"runs: " + ", ".join(f"{f.spans_per_s:,.0f}" for f in figures))
    (base_spans, base_rows), (spans, rows) = medians["errors only"], medians["with task spans"]
    print(f"  ratio with task spans / errors only: spans/s {spans / base_spans:.2f}, API rows/s "
          f"{rows / base_rows:.2f}; rows per span sent to the collector "
          f"{ERRORS_PER_BATCH / SPANS_PER_BATCH:.3f} -> {(ERRORS_PER_BATCH + tries) / SPANS_PER_BATCH:.3f}")


if __name__ == "__main__":
    main()
