"""Scale-out for real: three ``otelmon serve`` replicas on one MariaDB database behind the real collector, which
spreads traces over them by trace id (the ``loadbalancing`` exporter, tests/scaleout/load_balancer.py). A storm
of failures, each its own alert, to email (aiosmtpd) and a webhook (the Alertmanager-receiver stand-in); one
replica is SIGKILLed while webhook calls it made are still waiting for their answer.

What must hold: every failure stored once; every alert sent; each alert emailed once; the webhook never gets a
second message for an alert it had answered 2xx before the kill; what the killed replica had in flight is taken
over by another replica once its lease runs out (a message it sent that got no answer may go out again: that
is the one repeat allowed, at-least-once for a call whose outcome nobody saw)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from otelmon.config import Settings
from otelmon.storage.database import create_db_engine
from otelmon.storage.tables import Tables
from tests.collector.runs import send
from tests.harness.api_server import ApiServer
from tests.harness.smtp import SmtpSink
from tests.harness.spans import SpanFactory
from tests.harness.vendor_server import Answered, Recorded
from tests.harness.vendors.webhook import AlertmanagerReceiver
from tests.harness.waiting import wait_until
from tests.scaleout.load_balancer import start_load_balancer

TOKEN = "scale-out-token"
TEAM = "data-team@example.com"
REPLICAS = 3
BEFORE_KILL, AFTER_KILL = 36, 12  # failures sent before the kill, and while the killed replica is down
FREE = 9  # webhook calls answered at once; every later one waits until the kill
# A send is cut at half the lease: long enough that the survivors' held calls are still waiting, not cut,
# when the gate opens after the kill; short enough that the takeover comes within the test's minute.
LEASE = 24.0


@pytest.fixture
def receiver() -> Iterator[AlertmanagerReceiver]:
    with AlertmanagerReceiver() as server:
        yield server


@pytest.fixture
def engine(mariadb_url: str) -> Iterator[Engine]:
    engine = create_db_engine(Settings(database_url=mariadb_url))
    yield engine
    engine.dispose()


@pytest.fixture
def replicas(start_api: Callable[..., ApiServer], mariadb_url: str, smtp_sink: SmtpSink,
             receiver: AlertmanagerReceiver, tmp_path: Path) -> list[ApiServer]:
    """Three replicas with the same receiver, except that each one's webhook URL names it (``?replica=n``): the
    stand-in's log then says which replica sent each call, also a call taken over from another replica."""
    started = []
    for n in range(REPLICAS):
        config = tmp_path / f"notify-{n}.yaml"
        config.write_text(yaml.safe_dump({
            "receivers": [{"name": "data-team", "email": [TEAM],
                           "webhook": [{"url": f"{receiver.hook_url}?replica={n}"}]}],
            "default_receiver": "data-team"}))
        started.append(start_api({
            "OTELMON_DATABASE_URL": mariadb_url,
            "OTELMON_INGEST_TOKEN": TOKEN,
            "OTELMON_NOTIFY_CONFIG": str(config),
            "OTELMON_SMTP_HOST": "127.0.0.1",
            "OTELMON_SMTP_PORT": str(smtp_sink.port),
            "OTELMON_SMTP_MAIL_FROM": "otelmon@example.com",
            "OTELMON_ALERT_STORM_CAP_PER_MINUTE": "1000",  # every failure its own alert, no summary
            "OTELMON_ALERT_GROUP_WAIT_SECONDS": "0.1",
            "OTELMON_ALERT_BACKOFF_INITIAL_SECONDS": "0.2",
            "OTELMON_ALERT_BACKOFF_MAX_SECONDS": "1",
            "OTELMON_ALERT_POLL_SECONDS": "0.2",
            "OTELMON_ALERT_LEASE_SECONDS": str(LEASE),
        }))
    return started


def storm(first: int, count: int) -> tuple[list, dict[str, str]]:
    """``count`` failing task spans, each in its own trace and process (so its own alert); process -> span id."""
    factory = SpanFactory("scale-out", resource={"otelmon.platform": "airflow", "otelmon.group": "storm"})
    for n in range(first, first + count):
        process = f"load_{n:03d}"
        factory.failing(process, {"otelmon.process": process, "otelmon.run_id": "run-1", "otelmon.try_number": 1})
    spans = factory.take()
    return spans, {span.name: format(span.context.span_id, "016x") for span in spans}


def replica_of(request: Recorded) -> int:
    return int(parse_qs(request.query)["replica"][0])


def process_of(request: Recorded) -> str:
    (process,) = {alert["labels"]["process"] for alert in request.json()["alerts"]}
    return process


def stored(engine: Engine, tables: Tables) -> dict[str, list[str]]:
    f = tables.failures
    rows: dict[str, list[str]] = {}
    with engine.connect() as conn:
        for process, span_id in conn.execute(select(f.c.process_name, f.c.span_id)):
            rows.setdefault(process, []).append(span_id)
    return rows


def delivered(engine: Engine, tables: Tables, integration: str) -> int:
    d = tables.alert_deliveries
    with engine.connect() as conn:
        count = select(func.count()).where(d.c.integration == integration, d.c.state == "sent")
        return conn.execute(count).scalar_one()


def webhook_leases(engine: Engine, tables: Tables) -> dict[str, datetime]:
    """process -> when its webhook delivery's lease runs out (UTC), for the deliveries being sent."""
    d, a, ob, f = tables.alert_deliveries, tables.alerts, tables.alert_outbox, tables.failures
    query = (select(f.c.process_name, d.c.lease_until)
             .join(a, a.c.id == d.c.alert_id).join(ob, ob.c.alert_id == a.c.id).join(f, f.c.id == ob.c.failure_id)
             .where(d.c.integration == "webhook", d.c.state == "sending"))
    with engine.connect() as conn:
        return {process: until.replace(tzinfo=timezone.utc) for process, until in conn.execute(query)}


def alert_states(engine: Engine, tables: Tables) -> Counter[str]:
    a = tables.alerts
    with engine.connect() as conn:
        return Counter(dict(conn.execute(select(a.c.state, func.count()).group_by(a.c.state)).all()))


def spans_received(api: ApiServer) -> float:
    (line,) = [line for line in httpx.get(f"{api.url}/metrics", timeout=10).text.splitlines()
               if line.startswith("otelmon_spans_received_total ")]
    return float(line.split()[1])


def wall_clock(monotonic: float) -> datetime:
    return datetime.now(timezone.utc) - timedelta(seconds=time.monotonic() - monotonic)


@pytest.mark.slow
def test_a_storm_over_three_replicas_survives_one_killed_mid_send(
        replicas, otelcol_binary, receiver, smtp_sink, engine, tmp_path):
    tables = Tables.reflect(engine)
    answered = Answered(receiver, free=FREE)
    answered.gate.clear()
    collector = start_load_balancer(otelcol_binary, tmp_path / "otelcol", [r.url for r in replicas], TOKEN)

    spans, span_ids = storm(0, BEFORE_KILL)
    send(collector.otlp_http_traces_url, spans)
    wait_until(lambda: len(stored(engine, tables)) == BEFORE_KILL, 30, what="the first storm stored")
    # Spread by trace id: each replica took some of the storm.
    assert all(spans_received(r) > 0 for r in replicas)

    def ready_to_kill() -> tuple[int, list[Recorded]] | None:
        """Every email and every answered webhook call recorded as sent, and a replica with webhook calls still
        waiting for their answer (preferably one that also had calls answered): (that replica, its calls)."""
        if delivered(engine, tables, "email") < BEFORE_KILL or delivered(engine, tables, "webhook") < FREE:
            return None
        answered_ids = {id(request) for request, _, _ in answered.replies}
        waiting = [r for r in receiver.requests if id(r) not in answered_ids]
        by_replica = {n: [r for r in waiting if replica_of(r) == n] for n in range(REPLICAS)}
        had_answers = {replica_of(r) for r in answered.accepted}
        victim = max(range(REPLICAS), key=lambda n: (bool(by_replica[n]) and n in had_answers, len(by_replica[n])))
        return (victim, by_replica[victim]) if by_replica[victim] else None

    victim, in_flight = wait_until(ready_to_kill, 30, what="emails sent and webhook calls held")
    answered_before = Counter(process_of(r) for r in answered.accepted)
    assert len(answered_before) == FREE
    leases = webhook_leases(engine, tables)
    in_flight_processes = {process_of(r) for r in in_flight}
    assert in_flight_processes <= leases.keys()
    killed_at = time.monotonic()
    replicas[victim].kill()
    answered.gate.set()  # from now on the webhook answers at once, also the calls it was holding

    more, more_ids = storm(BEFORE_KILL, AFTER_KILL)
    send(collector.otlp_http_traces_url, more)  # some for the killed replica: they wait in the collector
    span_ids |= more_ids

    def taken_over() -> bool:
        again = {process_of(r) for r in receiver.requests if replica_of(r) != victim}
        return in_flight_processes <= again

    wait_until(taken_over, LEASE + 20, what="the killed replica's webhook calls sent again by another replica")
    replicas[victim].start()  # restarted, as an orchestrator does: the collector delivers what it kept for it

    total = BEFORE_KILL + AFTER_KILL
    wait_until(lambda: len(stored(engine, tables)) == total, 60, what="every failure stored")
    wait_until(lambda: alert_states(engine, tables) == {"sent": total}, 60, what="every alert sent")
    emails = smtp_sink.wait_for(total)

    # Every failure stored once, as sent.
    rows = stored(engine, tables)
    assert {process: ids for process, ids in rows.items()} == {p: [s] for p, s in span_ids.items()}
    # Each alert emailed once.
    subjects = Counter(r.message["Subject"].rsplit(" / ", 1)[1] for r in emails)
    assert subjects == Counter(span_ids.keys())
    # The webhook: one message per alert, but for the calls the killed replica had made and nobody had
    # answered; those went out once more, from a survivor, and only after their lease ran out.
    calls: dict[str, list[Recorded]] = {}
    for request in receiver.requests:
        calls.setdefault(process_of(request), []).append(request)
    assert calls.keys() == span_ids.keys()
    repeated = {process for process, made in calls.items() if len(made) > 1}
    assert not repeated & answered_before.keys()
    assert in_flight_processes <= repeated
    for process in in_flight_processes:
        first, *again = calls[process]
        assert replica_of(first) == victim and first.arrived < killed_at
        retried = next(r for r in again if replica_of(r) != victim)
        assert wall_clock(retried.arrived) >= leases[process]
    assert all(200 <= reply.status < 300 for _, reply, _ in answered.replies)
