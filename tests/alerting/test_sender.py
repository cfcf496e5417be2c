"""AlertSender in this process (SQLite, a real SMTP server): what a stop leaves behind."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from otelmon.alerting import delivery
from otelmon.alerting import sender as sender_module
from otelmon.alerting.dispatch import dispatch_due
from otelmon.alerting.sender import AlertSender
from otelmon.clock import utcnow
from otelmon.config import Settings
from otelmon.metrics import Metrics
from otelmon.storage.database import create_db_engine
from otelmon.storage.migrate import migrate
from otelmon.storage.tables import Tables
from tests.digest.seed import failure, store
from tests.digest.smtp import ScriptedSmtpSink

ALERTS = 10
LANES = 2


def holding_server() -> tuple[ScriptedSmtpSink, threading.Semaphore, threading.Event]:
    """A server that takes each DATA, then keeps the client waiting for its reply until ``gate`` is set;
    ``arrived`` is released once per message it holds."""
    sink = ScriptedSmtpSink().start()
    arrived, gate = threading.Semaphore(0), threading.Event()

    def hold(_message) -> None:
        arrived.release()
        gate.wait(30)

    sink.before_accept = hold
    return sink, arrived, gate


def alerts_waiting(tmp_path: Path, smtp_port: int) -> tuple:
    """ALERTS failures stored and dispatched: as many alerts due to be sent."""
    settings = Settings(database_url=f"sqlite:///{tmp_path}/otelmon.db", smtp_host="127.0.0.1", smtp_port=smtp_port,
                        smtp_timeout_seconds=5, smtp_max_connections=LANES, alert_recipients=["team@example.com"],
                        alert_storm_cap_per_minute=1000)
    engine = create_db_engine(settings)
    migrate(engine)
    tables = Tables.reflect(engine)
    store(engine, [failure(f"task_{n}") for n in range(ALERTS)])
    assert dispatch_due(engine, tables, settings, utcnow()).alerted == ALERTS
    return engine, tables, settings


async def sender_with_every_lane_sending(engine, tables, settings, arrived: threading.Semaphore) -> AlertSender:
    """A started sender, once each of its lanes is inside a send that the holding server keeps waiting."""
    sender = AlertSender(engine, tables, settings, Metrics())
    sender.start()
    for _ in range(LANES):
        assert await asyncio.to_thread(arrived.acquire, timeout=30)
    return sender


def test_a_stop_gives_back_claimed_alerts_never_tried_and_keeps_the_lease_on_those_in_flight(tmp_path: Path):
    sink, arrived, gate = holding_server()
    engine, tables, settings = alerts_waiting(tmp_path, sink.port)

    async def start_then_stop() -> None:
        sender = await sender_with_every_lane_sending(engine, tables, settings, arrived)
        await sender.stop(grace=0.5)

    try:
        asyncio.run(start_then_stop())
    finally:
        gate.set()
        sink.stop()
    a = tables.alerts
    with engine.connect() as conn:
        rows = conn.execute(select(a.c.state, a.c.attempts, a.c.lease_until)).all()
    engine.dispose()
    in_flight = [r for r in rows if r.state == "sending"]
    given_back = [r for r in rows if r.state == "pending"]
    # Those inside a send may have reached the server: they keep their lease (taken over later, same
    # Message-ID). The others were never tried: due again at once, and the claim is not counted.
    assert len(in_flight) == LANES and all(r.attempts == 1 and r.lease_until is not None for r in in_flight)
    assert len(given_back) == ALERTS - LANES
    assert all(r.attempts == 0 and r.lease_until is None for r in given_back)


def test_an_email_whose_lease_ran_out_in_the_queue_is_not_sent(tmp_path: Path, monkeypatch):
    # A server that keeps the lanes waiting longer than the lease: by then another replica may have
    # taken the queued alerts over, so this sender must not send them as well.
    monkeypatch.setattr(delivery, "lease_seconds", lambda settings: 1.0)
    sink, arrived, gate = holding_server()
    engine, tables, settings = alerts_waiting(tmp_path, sink.port)

    async def hold_past_the_lease_then_release() -> None:
        sender = await sender_with_every_lane_sending(engine, tables, settings, arrived)
        await asyncio.sleep(1.2)  # the lease is a span of time: this is the time passing, not a guess
        sink.before_accept = None
        gate.set()
        # The alerts were taken over (here by this same sender, as the next claimer): all arrive.
        await asyncio.to_thread(sink.wait_for, ALERTS + LANES, 30)
        await sender.stop(grace=5)

    try:
        asyncio.run(hold_past_the_lease_then_release())
    finally:
        gate.set()
        sink.stop()
    engine.dispose()
    # Those inside a send when the lease ran out arrive twice (at least once is the guarantee: the server
    # may have taken them); those still queued arrive once, from their new owner, never also from here.
    copies = Counter(r.message["Message-ID"] for r in sink.received)
    assert len(copies) == ALERTS and sorted(copies.values()) == [1] * (ALERTS - LANES) + [2] * LANES


def test_an_alert_another_replica_set_aside_below_the_last_look_is_found_by_the_full_pass(tmp_path: Path,
                                                                                        monkeypatch):
    # The sender looks only past the highest unroutable id it has seen, except in its periodic full pass:
    # a replica with other settings may set aside an alert with a lower id (a rolling configuration change).
    monkeypatch.setattr(sender_module, "_FULL_REROUTE_SECONDS", 0.5)
    sink = ScriptedSmtpSink().start()
    engine, tables, settings = alerts_waiting(tmp_path, sink.port)
    a = tables.alerts
    with engine.begin() as conn:  # the highest id is unroutable when the sender starts: it looks up to it
        conn.execute(a.update().where(a.c.id == ALERTS).values(state=delivery.UNROUTABLE))
        conn.execute(a.update().where(a.c.id < ALERTS).values(state=delivery.SENT))

    async def run() -> None:
        sender = AlertSender(engine, tables, settings, Metrics())
        sender.start()
        await asyncio.to_thread(sink.wait_for, 1, 30)
        with engine.begin() as conn:  # another replica, without recipients, set alert 1 aside
            conn.execute(a.update().where(a.c.id == 1).values(state=delivery.UNROUTABLE))
        await asyncio.to_thread(sink.wait_for, 2, 30)
        await sender.stop(grace=5)

    try:
        asyncio.run(run())
    finally:
        sink.stop()
    with engine.connect() as conn:
        states = dict(conn.execute(select(a.c.id, a.c.state).where(a.c.id.in_([1, ALERTS]))).all())
    engine.dispose()
    assert states == {1: "sent", ALERTS: "sent"}
