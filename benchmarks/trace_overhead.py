"""What OtelMon's Airflow tracing costs (issue 5 targets: under 1 ms per traced call; under 5 s for a task
to finish with the collector down).

Run from the repository root with the main venv (the Airflow parts need scripts/setup/airflow.sh first):
    .venv/bin/python benchmarks/trace_overhead.py [--calls 20000] [--skip-airflow]

1. In this process, outside Airflow: µs per call of a no-op function, bare vs ``@traced`` vs inside
   ``step()``, spans exported over OTLP/HTTP in the background to a sink in another process (so its work
   is not counted); and the end-of-try flush (one synchronous export), which a task pays once per try.
2. In Airflow (dag.test() in .venv-airflow): time spent in the task callbacks per try of 20 no-op tasks,
   traced by the cluster policy vs opted out (wall time per try is shown too, but Airflow's own ~0.1 s per
   try and its noise hide the difference); and per-try times of example_etl with the collector refusing
   connections and hanging, against a reachable one.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.airflow.airflow_home import EXAMPLE_DAGS, TEST_DAGS, AirflowHome  # noqa: E402
from tests.harness.otlp_sinks import HangingEndpoint, HttpTraceSink  # noqa: E402
from tests.harness.ports import free_port  # noqa: E402

BENCH_TASKS = 20
BENCH_DAGS = f'''
from airflow.sdk import dag, task


def tasks():
    for number in range({BENCH_TASKS}):
        task(lambda: None, task_id=f"noop_{{number}}")()


@dag(dag_id="bench_traced", schedule=None)
def bench_traced():
    tasks()


@dag(dag_id="bench_plain", schedule=None, tags=["otelmon:off"])
def bench_plain():
    tasks()


bench_traced()
bench_plain()
'''


def per_call_us(fn, calls: int, repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, time.perf_counter() - started)
    return best / calls * 1e6


def serve_sink() -> None:
    sink = HttpTraceSink().start()
    print(sink.url, flush=True)
    sys.stdin.read()  # until the parent closes our stdin
    print(len(sink.received.spans), flush=True)


def in_process(calls: int) -> None:
    sink = subprocess.Popen([sys.executable, __file__, "--serve-sink"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] = sink.stdout.readline().strip()
    # Room for every span of the timed loops, so the numbers include queueing them, not dropping them.
    os.environ.setdefault("OTEL_BSP_MAX_QUEUE_SIZE", str(calls * 12))
    os.environ.setdefault("OTEL_SERVICE_NAME", "trace-overhead-benchmark")
    from otelmon.instrument.provider import flush
    from otelmon.instrument.tracing import step, traced

    def noop() -> None:
        return None

    traced_noop = traced(noop)

    def in_step() -> None:
        with step("sub-step"):
            pass

    traced_noop()  # builds the provider outside the timing
    flush()
    bare = per_call_us(noop, calls)
    with_span = per_call_us(traced_noop, calls)
    with_step = per_call_us(in_step, calls)
    flush(timeout=120)  # drain the ~10^5 queued spans before timing single flushes

    def try_end() -> None:
        traced_noop()
        flush()

    try_cost = per_call_us(try_end, max(calls // 100, 50), repeats=3)
    received, _ = sink.communicate(timeout=60)
    print("== in process, outside Airflow (spans exported over OTLP/HTTP to a sink process on loopback)")
    print(f"untraced call            {bare:10.2f} µs")
    print(f"@traced call             {with_span:10.2f} µs   overhead {with_span - bare:8.2f} µs/call")
    print(f"step() sub-step          {with_step:10.2f} µs   overhead {with_step - bare:8.2f} µs/call")
    print(f"traced call + flush      {try_cost:10.2f} µs   (a task pays the flush once per try)")
    print(f"spans received by sink   {received.strip()}")


def try_seconds(runs: list[dict], field: str = "seconds") -> list[float]:
    return [attempt[field] for run in runs for attempt in run["tries"]]


def summary(seconds: list[float]) -> str:
    return (f"median {statistics.median(seconds):6.3f} s   max {max(seconds):6.3f} s   "
            f"({len(seconds)} tries)")


def ms(seconds: list[float]) -> str:
    return f"median {statistics.median(seconds) * 1000:7.2f} ms   mean {statistics.mean(seconds) * 1000:7.2f} ms"


def in_airflow() -> None:
    with tempfile.TemporaryDirectory(prefix="otelmon-bench-") as tmp:
        bench_file = Path(tmp) / "bench_tasks.py"
        bench_file.write_text(BENCH_DAGS)
        dag_files = [EXAMPLE_DAGS / "example_etl.py", TEST_DAGS / "warmup.py", bench_file]
        home = AirflowHome.create(Path(tmp) / "home", dag_files)
        env = {"OTEL_SERVICE_NAME": "airflow"}

        sink = HttpTraceSink().start()
        # Alternating runs, so drift in the machine's load hits both sides alike.
        runs = home.run_dags(
            [{"dag_id": "warmup"}, *[{"dag_id": f"bench_{kind}"} for _ in range(3) for kind in ("plain", "traced")],
             {"dag_id": "example_etl"}],
            {**env, "OTEL_EXPORTER_OTLP_ENDPOINT": sink.url},
        )
        sink.stop()
        plain = [run for run in runs if run["dag_id"] == "bench_plain"]
        traced_runs = [run for run in runs if run["dag_id"] == "bench_traced"]
        example_up = [runs[-1]]
        print("\n== in Airflow 3 (dag.test(); a traced try = callbacks + span + synchronous flush to a loopback sink)")
        print(f"callbacks, opted out     {ms(try_seconds(plain, 'callback_seconds'))}")
        print(f"callbacks, traced        {ms(try_seconds(traced_runs, 'callback_seconds'))}   <- tracing cost per try")
        print(f"try wall time, opted out {summary(try_seconds(plain))}")
        print(f"try wall time, traced    {summary(try_seconds(traced_runs))}")

        hanging = HangingEndpoint().start()
        print("\n== example_etl tries with the collector down (flush bound: OTELMON_FLUSH_TIMEOUT_SECONDS, default 3)")
        print(f"collector up               {summary(try_seconds(example_up))}")
        for label, endpoint in (("refusing connections", f"http://127.0.0.1:{free_port()}"),
                                ("accepting, never answering", hanging.url)):
            _, run = home.run_dags([{"dag_id": "warmup"}, {"dag_id": "example_etl"}],
                                   {**env, "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint})
            print(f"{label:27}{summary(try_seconds([run]))}   run {run['state']}")
        hanging.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--skip-airflow", action="store_true")
    parser.add_argument("--serve-sink", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_sink:
        serve_sink()
        return
    in_process(args.calls)
    if not args.skip_airflow:
        in_airflow()


if __name__ == "__main__":
    main()
