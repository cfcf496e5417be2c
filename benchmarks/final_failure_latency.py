"""Alert latency of a final failure: the last try of a task whose earlier try was held for retry.

Two runs, each a fresh API (``otelmon serve``) and MariaDB database, with email at an SMTP server (aiosmtpd)
in a process of its own, at a steady rate of distinct failures (default 100/s for 15 s; storm cap raised
above that rate):

1. single try: each failure is a try 1 that will not be retried, alerted at once (the baseline, as
   benchmarks.alert_latency measures it);
2. final failure: first every task's try 1, failing with ``otelmon.will_retry=true`` (held: no email), then at
   the same rate its try 2 of the same run, failing for good: alerted as the final failure.

Latency is from the acceptance by ``/v1/traces`` of the span that is alerted (the single try; the last try) to
the email's arrival; it includes the group wait. An email that arrives before its last try was sent (a held
try alerted) is counted apart; one still missing ``--drain`` seconds after the last span was sent counts as
later than that.

    .venv/bin/python -m benchmarks.final_failure_latency [--rate 100] [--seconds 15]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from benchmarks.alert_latency import stages
from benchmarks.channel_latency import percentile, shown, start_stand_ins, stop_stand_ins
from benchmarks.lean_client import post_at_rate
from otelmon.config import Settings
from tests.harness.api_server import ApiServer
from tests.harness.mariadb import MariaDBServer
from tests.harness.spans import SpanFactory, protobuf_body


def try_bodies(count: int, try_number: int, will_retry: bool) -> list[tuple[str, bytes]]:
    """One failing task try per process ``step_NNNNNN`` (the name channel_latency's stand-ins look for)."""
    bodies = []
    for n in range(count):
        spans = SpanFactory("bench")
        process = f"step_{n:06d}"
        attributes = {"otelmon.platform": "airflow", "otelmon.group": "latency", "otelmon.process": process,
                      "otelmon.run_id": f"run-{n}", "otelmon.try_number": try_number}
        if will_retry:
            attributes["otelmon.will_retry"] = True
        spans.failing(process, attributes)
        bodies.append((process, protobuf_body(spans.take())))
    return bodies


def run(database_url: str, args: argparse.Namespace, held: list[tuple[str, bytes]] | None,
        alerted: list[tuple[str, bytes]]) -> tuple[list[float], int, dict[str, list[float]]]:
    """Latencies of the alerted spans' emails (inf: missing), how many emails came before their span, and
    (single tries only: a held try's own outbox row would be taken for its last try's) where the time went."""
    running, receiver, smtp_port = start_stand_ins(["email"], len(alerted), None, 0.0)
    try:
        env = {"OTELMON_DATABASE_URL": database_url, "OTELMON_SMTP_HOST": "127.0.0.1",
               "OTELMON_SMTP_PORT": str(smtp_port), "OTELMON_ALERT_RECIPIENTS": ",".join(receiver["email"]),
               "OTELMON_ALERT_STORM_CAP_PER_MINUTE": str(int(args.rate * 120))}
        api = ApiServer(env).start()
        try:
            if held:
                post_at_rate(api.url, held, args.rate)
            accepted = post_at_rate(api.url, alerted, args.rate)
            running["email"].done.wait(args.drain)
        finally:
            api.stop()
    finally:
        arrivals = stop_stand_ins(running)["email"]
    latencies = [arrivals.get(key, float("inf")) - at for key, at in accepted.items()]
    early = sum(1 for value in latencies if value < 0)
    return latencies, early, {} if held else stages(database_url, accepted, arrivals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0, help="failures per second")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--drain", type=float, default=60.0,
                        help="seconds to wait for the last emails after the last span was sent")
    args = parser.parse_args()
    count = int(args.rate * args.seconds)
    single = try_bodies(count, 1, will_retry=False)
    first, last = try_bodies(count, 1, will_retry=True), try_bodies(count, 2, will_retry=False)

    with tempfile.TemporaryDirectory() as tmp:
        db = MariaDBServer(Path(tmp) / "db").start()
        try:
            print("running single try", flush=True)
            base, base_early, where = run(db.create_database("single"), args, None, single)
            print("running final failure (try 1 held, try 2 alerted)", flush=True)
            final, early, _ = run(db.create_database("final"), args, first, last)
        finally:
            db.remove()

    print(f"\nlatency, alerted span accepted by /v1/traces -> email at the SMTP server; {count} distinct failures "
          f"at {args.rate:.0f}/s (group wait {Settings().alert_group_wait_seconds} s), MariaDB")
    print(f"{'run':<16}{'arrived':>11}{'early':>7}{'p50':>9}{'p99':>9}{'max':>9}{'p50/base':>10}{'p99/base':>10}")
    for name, values, before in (("single try", base, base_early), ("final failure", final, early)):
        arrived = sum(1 for v in values if v != float("inf"))
        p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
        b50, b99 = percentile(base, 0.5), percentile(base, 0.99)
        print(f"{name:<16}{arrived:>6}/{len(values):<5}{before:>6}{shown(p50, args.drain):>9}"
              f"{shown(p99, args.drain):>9}{shown(max(values), args.drain):>9}"
              f"{p50 / b50:>10.2f}{p99 / b99:>10.2f}")
    print("  single try, where the time goes (p50 / p99): " + "; ".join(
        f"{stage} {percentile(v, 0.5):.2f} / {percentile(v, 0.99):.2f} s" for stage, v in where.items() if v))
    print(f"  early: emails that arrived before their alerted span's 200 reached the client (earliest: "
          f"{min(base):.2f} s single try, {min(final):.2f} s final failure; a held try alerted would be about "
          f"-{args.seconds:.0f} s); base: the single try")
    print(f"  target (issue 16): final failure p99 under 1 s: {'met' if percentile(final, 0.99) < 1 else 'NOT met'}")


if __name__ == "__main__":
    main()
