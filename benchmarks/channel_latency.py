"""Alert latency per notification channel, and what a slow channel costs email.

Three runs, each a fresh API (``otelmon serve``) and database, fed the same steady rate of failures (default
100/s for 15 s, each a distinct failure so each is alerted; the storm cap is raised above that rate):

1. email only: the baseline;
2. one receiver with email and HTTP channels (Slack webhook, Teams, Telegram, Discord, PagerDuty, webhook,
   Google Chat), each a loopback stand-in from tests/harness/vendors (which check the body as the vendor
   would) in a process of its own, as the SMTP server (aiosmtpd) is;
3. the same, with the webhook stand-in answering each request after 2 s.

Latency is from a span's acceptance by ``/v1/traces`` (the 200 reaching the client) to the message's arrival
at each stand-in (a 2xx answer to it; the first one when a delivery was retried); it includes the group wait
(``OTELMON_ALERT_GROUP_WAIT_SECONDS``). Messages still missing ``--drain`` seconds after the last failure
was sent count as later than that.

    .venv/bin/python -m benchmarks.channel_latency [--rate 100] [--seconds 15] [--channels slack,msteams,...]
        [--runs email,mixed,slow] [--sqlite] [--profile DIR]

With ``--profile DIR`` the API runs under cProfile (DIR/<run>.prof, its event-loop thread), and the run prints
the CPU seconds each process used (API, stand-ins, MariaDB) and how fast each channel's deliveries went out,
to tell a sender that waits from a machine out of CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import create_engine, text

from benchmarks.alert_latency import failing_bodies, stages
from benchmarks.lean_client import post_at_rate
from otelmon.config import Settings
from tests.harness.api_server import ApiServer
from tests.harness.mariadb import MariaDBServer
from tests.harness.ports import free_port
from tests.harness.smtp import SmtpSink
from tests.harness.vendor_server import Recorded, Reply, VendorServer
from tests.harness.vendors.discord import DiscordStandIn
from tests.harness.vendors.googlechat import GoogleChatStandIn
from tests.harness.vendors.msteams import Workflows
from tests.harness.vendors.pagerduty import PagerDutyStandIn
from tests.harness.vendors.slack import Slack
from tests.harness.vendors.telegram import TelegramStandIn
from tests.harness.vendors.webhook import AlertmanagerReceiver

SLOW_CHANNEL = "webhook"
# The failing process's name (benchmarks.alert_latency.failing_bodies) is in every message: the subject of an
# email, the title of every chat message and event; Markdown channels escape its "_" (and JSON the escape).
_KEY = re.compile(rb"step\\*_(\d{6})")


# Each HTTP channel: its stand-in, and its target's entry in the receivers file, given that stand-in.
_VENDORS: dict[str, tuple[Callable[[], Any], Callable[[Any], dict[str, Any]]]] = {
    "slack": (Slack, lambda v: {"webhook_url": v.webhook_url}),
    "msteams": (Workflows, lambda v: {"webhook_url": v.webhook_url}),
    "telegram": (lambda: TelegramStandIn("123456:bench-token", chats=("-1001234",)),
                 lambda v: {"bot_token": v.token, "chat_id": "-1001234", "api_url": v.url}),
    "discord": (lambda: DiscordStandIn("1180000000000000000", "bench-token"),
                lambda v: {"webhook_url": v.webhook_url}),
    "pagerduty": (PagerDutyStandIn, lambda v: {"routing_key": "b" * 32, "url": v.enqueue_url}),
    "webhook": (AlertmanagerReceiver, lambda v: {"url": v.hook_url}),
    "googlechat": (lambda: GoogleChatStandIn("AAAAbench", "bench-key", "bench-token"),
                   lambda v: {"webhook_url": v.webhook_url}),
}
HTTP_CHANNELS = tuple(_VENDORS)


def stand_in(channel: str, port: int) -> tuple[VendorServer, dict[str, Any]]:
    """The stand-in of ``channel`` on ``port`` (not started) and its target's entry in the receivers file."""
    make, entry = _VENDORS[channel]
    vendor = make()
    server: VendorServer = getattr(vendor, "server", vendor)  # Slack and Teams hold theirs
    server.port = port
    return server, entry(vendor)


class _Arrivals:
    """The first accepted arrival of each failure's message; ``done`` once ``expected`` have arrived."""

    def __init__(self, expected: int, done: Any) -> None:
        self.expected = expected
        self.done = done
        self.seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def note(self, raw: bytes, arrived: float) -> None:
        found = _KEY.search(raw)
        if found is None:
            return
        with self._lock:
            self.seen.setdefault(f"step_{found.group(1).decode()}", arrived)
            if len(self.seen) >= self.expected:
                self.done.set()

    def snapshot(self) -> dict[str, float]:
        with self._lock:
            return dict(self.seen)


class _NotingSmtpSink(SmtpSink):
    def __init__(self, port: int, arrivals: _Arrivals) -> None:
        super().__init__(port)
        self.arrivals = arrivals

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's name
        answer = await super().handle_DATA(server, session, envelope)
        received = self.received[-1]
        self.arrivals.note(received.raw, received.arrived)
        return answer


def _serve(channel: str, port: int, delay: float, expected: int, ready, done, stop, results) -> None:
    """A stand-in in a process of its own, as a vendor is: the load generator's GIL must not slow its answers.
    time.monotonic() is system-wide on Linux, so its timestamps compare with the client's."""
    arrivals = _Arrivals(expected, done)
    if channel == "email":
        sink = _NotingSmtpSink(port, arrivals).start()
        stopper: Callable[[], None] = sink.stop
    else:
        server, _ = stand_in(channel, port)
        answer = server.handler

        async def noting(request: Recorded) -> Reply:
            reply = answer(request)
            if asyncio.iscoroutine(reply):
                reply = await reply
            if 200 <= reply.status < 300:
                arrivals.note(request.body, request.arrived)
            reply.delay = delay
            return reply

        server.handler = noting
        stopper = server.start().stop
    ready.set()
    stop.wait()
    results.put(arrivals.snapshot())
    stopper()


@dataclass
class Running:
    channel: str
    process: multiprocessing.Process
    done: Any
    stop: Any
    results: multiprocessing.Queue


def start_stand_ins(channels: list[str], expected: int, slow: str | None, delay: float) -> tuple[
        dict[str, Running], dict[str, Any], int]:
    """Each channel's stand-in started in its own process; returns them, the receiver naming every one of them,
    and the SMTP port."""
    running: dict[str, Running] = {}
    receiver: dict[str, Any] = {"name": "everyone"}
    smtp_port = 0
    for channel in channels:
        port = free_port()
        ready, done, stop = multiprocessing.Event(), multiprocessing.Event(), multiprocessing.Event()
        results: multiprocessing.Queue = multiprocessing.Queue()
        process = multiprocessing.Process(
            target=_serve, daemon=True,
            args=(channel, port, delay if channel == slow else 0.0, expected, ready, done, stop, results))
        process.start()
        if not ready.wait(30):
            raise RuntimeError(f"{channel} stand-in did not start")
        running[channel] = Running(channel, process, done, stop, results)
        if channel == "email":
            receiver["email"], smtp_port = ["team@example.com"], port
        else:
            receiver[channel] = [stand_in(channel, port)[1]]
    return running, receiver, smtp_port


def stop_stand_ins(running: dict[str, Running]) -> dict[str, dict[str, float]]:
    for one in running.values():
        one.stop.set()
    arrivals = {name: one.results.get(timeout=60) for name, one in running.items()}
    for one in running.values():
        one.process.join(10)
    return arrivals


# `python -m cProfile` writes nothing here: uvicorn re-raises SIGTERM after its shutdown, with the handler it found
# at start, so that handler is where the profile is written.
_PROFILED = """
import cProfile, runpy, signal, sys
profile = cProfile.Profile()
def dump(*_):
    profile.disable()
    profile.dump_stats({out!r})
    sys.exit(0)
signal.signal(signal.SIGTERM, dump)
sys.argv = ["otelmon", *sys.argv[1:]]
profile.enable()
try:
    runpy.run_module("otelmon.cli", run_name="__main__")
finally:
    dump()
"""


@dataclass
class Result:
    sent: int
    latencies: dict[str, list[float]]  # by channel; inf for a message that never arrived
    slow: str | None
    stages: dict[str, list[float]]  # where email's time went (MariaDB only)
    cpu: dict[str, float]  # CPU seconds per process over the run (--profile only)
    wall: float  # seconds from the API's start to its stop
    pace: dict[str, tuple[int, float]]  # per channel: deliveries sent and their span in seconds (--profile)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a live process and its waited-for children."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


_SENT_SQL = text("SELECT integration, COUNT(*), TIMESTAMPDIFF(MICROSECOND, MIN(sent_at), MAX(sent_at))"
                 " FROM alert_deliveries WHERE state = 'sent' GROUP BY integration")


def sent_pace(database_url: str) -> dict[str, tuple[int, float]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return {name: (count, span / 1e6) for name, count, span in conn.execute(_SENT_SQL)}
    finally:
        engine.dispose()


def run_scenario(name: str, channels: list[str], database_url: str, args: argparse.Namespace,
                 bodies: list[tuple[str, bytes]], tmp: Path, slow: str | None = None,
                 database_pid: int | None = None) -> Result:
    running, receiver, smtp_port = start_stand_ins(channels, len(bodies), slow, args.slow_seconds)
    try:
        notify_file = tmp / f"{name}.yaml"
        notify_file.write_text(yaml.safe_dump({"receivers": [receiver], "default_receiver": "everyone"}))
        env = {"OTELMON_DATABASE_URL": database_url, "OTELMON_NOTIFY_CONFIG": str(notify_file),
               "OTELMON_SMTP_HOST": "127.0.0.1", "OTELMON_SMTP_PORT": str(smtp_port),
               "OTELMON_ALERT_STORM_CAP_PER_MINUTE": str(int(args.rate * 120))}
        command = None
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
            command = [sys.executable, "-c", _PROFILED.format(out=str(args.profile / f"{name}.prof"))]
        api = ApiServer(env, command=command).start()
        started = time.monotonic()
        pids = {"api": api.process.pid, **{one.channel: one.process.pid for one in running.values()},
                "load generator": os.getpid()}
        if database_pid:
            pids["mariadb"] = database_pid
        cpu_before = {role: cpu_seconds(pid) for role, pid in pids.items()} if args.profile else {}
        try:
            accepted = post_at_rate(api.url, bodies, args.rate)
            # Everything but the slow channel: its stand-in answers so slowly that it cannot keep up by design.
            deadline = time.monotonic() + args.drain
            for one in running.values():
                if one.channel != slow:
                    one.done.wait(max(0.0, deadline - time.monotonic()))
            cpu = {role: cpu_seconds(pid) - cpu_before[role] for role, pid in pids.items()} if args.profile else {}
            wall = time.monotonic() - started
        finally:
            api.stop()
    finally:
        arrivals = stop_stand_ins(running)
    latencies = {channel: [arrivals[channel].get(key, float("inf")) - at for key, at in accepted.items()]
                 for channel in channels}
    where = {} if database_url.startswith("sqlite") else stages(database_url, accepted, arrivals["email"])
    pace = sent_pace(database_url) if args.profile and database_pid else {}
    return Result(len(accepted), latencies, slow, where, cpu, wall, pace)


def percentile(values: list[float], q: float) -> float:
    """Nearest rank: with messages missing (inf), a percentile that falls among them is inf."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def shown(seconds: float, drain: float) -> str:
    return f">{drain:.0f} s" if seconds == float("inf") else f"{seconds:.2f} s"


def ratio(value: float, base: float | None) -> str:
    if base is None or value == float("inf"):
        return "-"
    return f"{value / base:.2f}"


def email_percentiles(result: Result | None) -> tuple[float, float] | None:
    if result is None:
        return None
    return percentile(result.latencies["email"], 0.5), percentile(result.latencies["email"], 0.99)


def report(results: dict[str, Result], args: argparse.Namespace) -> None:
    baseline = email_percentiles(results.get("email")) or (None, None)
    sent = next(iter(results.values())).sent
    print(f"\nlatency, span accepted by /v1/traces -> message at the stand-in; {sent} distinct failures at "
          f"{args.rate:.0f}/s for {args.seconds:.0f} s (group wait {Settings().alert_group_wait_seconds} s)")
    print(f"\n{'run':<7}{'channel':<12}{'arrived':>10}{'p50':>9}{'p99':>9}{'max':>9}"
          f"{'p50/email':>11}{'p99/email':>11}{'p50/base':>10}{'p99/base':>10}")
    for name, result in results.items():
        email = email_percentiles(result)
        for channel, values in result.latencies.items():
            arrived = sum(1 for v in values if v != float("inf"))
            p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
            print(f"{name:<7}{channel + ('*' if channel == result.slow else ''):<12}{arrived:>6}/{len(values):<4}"
                  f"{shown(p50, args.drain):>8}{shown(p99, args.drain):>9}{shown(max(values), args.drain):>9}"
                  f"{ratio(p50, email[0]):>11}{ratio(p99, email[1]):>11}"
                  f"{ratio(p50, baseline[0]):>10}{ratio(p99, baseline[1]):>10}")
    print(f"  base: email in the run 'email' (email only); *: answers after {args.slow_seconds:.0f} s; "
          f"'>{args.drain:.0f} s': not all arrived {args.drain:.0f} s after the last failure was sent")
    if any(result.stages for result in results.values()):
        print("\nemail, where the time goes (p50 / p99; from the timestamps the API stored):")
    for name, result in ((n, r) for n, r in results.items() if r.stages):
        print(f"  {name:<7}" + "; ".join(f"{stage} {percentile(v, 0.5):.2f} / {percentile(v, 0.99):.2f} s"
                                      for stage, v in result.stages.items() if v))
    for name, result in ((n, r) for n, r in results.items() if r.cpu):
        print(f"\n{name}: CPU seconds over {result.wall:.1f} s from the API's start (2 cores: "
              f"{2 * result.wall:.0f} CPU s at most): "
              + ", ".join(f"{role} {seconds:.1f}" for role, seconds in result.cpu.items())
              + f"; all of them {sum(result.cpu.values()):.1f}")
        if result.pace:
            print("  deliveries sent, per channel: " + ", ".join(
                f"{channel} {count} in {span:.1f} s ({count / span if span else 0:.0f}/s)"
                for channel, (count, span) in result.pace.items()))
    fast, slow = email_percentiles(results.get("mixed")), email_percentiles(results.get("slow"))
    if fast and slow:
        print(f"\nemail p50 / p99 with every channel answering at once: {shown(fast[0], args.drain)} / "
              f"{shown(fast[1], args.drain)}; with the {SLOW_CHANNEL} answering after {args.slow_seconds:.0f} s: "
              f"{shown(slow[0], args.drain)} / {shown(slow[1], args.drain)}; ratio {ratio(slow[0], fast[0])} / "
              f"{ratio(slow[1], fast[1])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0, help="failures per second")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--channels", default=",".join(HTTP_CHANNELS),
                        help=f"HTTP channels besides email (comma-separated; known: {', '.join(HTTP_CHANNELS)})")
    parser.add_argument("--slow-seconds", type=float, default=2.0, help="the slow webhook's answer time")
    parser.add_argument("--drain", type=float, default=60.0,
                        help="seconds to wait for the last messages after the last failure was sent")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of a private MariaDB")
    parser.add_argument("--runs", default="email,mixed,slow", help="which of the runs: email, mixed, slow")
    parser.add_argument("--profile", type=Path, help="run the API under cProfile, its output in this directory; "
                        "print CPU seconds per process and each channel's delivery pace")
    args = parser.parse_args()
    http = [c.strip() for c in args.channels.split(",") if c.strip()]
    for channel in http:
        if channel not in HTTP_CHANNELS:
            parser.error(f"unknown channel {channel!r} (known: {', '.join(HTTP_CHANNELS)})")
    channels = ["email", *http]
    bodies = failing_bodies(int(args.rate * args.seconds))
    scenarios: list[tuple[str, list[str], str | None]] = [("email", ["email"], None), ("mixed", channels, None)]
    if SLOW_CHANNEL in http:
        scenarios.append(("slow", channels, SLOW_CHANNEL))
    scenarios = [s for s in scenarios if s[0] in args.runs.split(",")]

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        db = None if args.sqlite else MariaDBServer(tmp / "db").start()
        try:
            results: dict[str, Result] = {}
            for name, scenario_channels, slow in scenarios:
                url = f"sqlite:///{tmp / name}.db" if db is None else db.create_database(name)
                print(f"running {name}: {', '.join(scenario_channels)}"
                      + (f" ({slow} slow)" if slow else ""), flush=True)
                results[name] = run_scenario(name, scenario_channels, url, args, bodies, tmp, slow,
                                             None if db is None else db.process.pid)
        finally:
            if db is not None:
                db.remove()
    print(f"database: {'SQLite' if db is None else 'MariaDB'}")
    report(results, args)


if __name__ == "__main__":
    main()
