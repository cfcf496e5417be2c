"""AlertSender in this process (SQLite, a real SMTP server): what a stop leaves behind."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from sqlalchemy import select

from otelmon.alerting.dispatch import dispatch_due
from otelmon.alerting.sender import AlertSender
from otelmon.api.metrics import ApiMetrics
from otelmon.clock import utcnow
from otelmon.config import Settings
from otelmon.storage.database import create_db_engine
from otelmon.storage.migrate import migrate
from otelmon.storage.tables import Tables
from tests.digest.seed import failure, store
from tests.digest.smtp import ScriptedSmtpSink

ALERTS = 10
LANES = 2


def test_a_stop_gives_back_claimed_alerts_never_tried_and_keeps_the_lease_on_those_in_flight(tmp_path: Path):
    sink = ScriptedSmtpSink().start()
    arrived, gate = threading.Semaphore(0), threading.Event()

    def hold(_message) -> None:  # the server takes the DATA, then keeps the client waiting for its reply
        arrived.release()
        gate.wait(30)

    sink.before_accept = hold
    settings = Settings(database_url=f"sqlite:///{tmp_path}/otelmon.db", smtp_host="127.0.0.1", smtp_port=sink.port,
                        smtp_timeout_seconds=2, smtp_max_connections=LANES, alert_recipients=["team@example.com"],
                        alert_storm_cap_per_minute=1000)
    engine = create_db_engine(settings)
    migrate(engine)
    tables = Tables.reflect(engine)
    store(engine, [failure(f"task_{n}") for n in range(ALERTS)])
    assert dispatch_due(engine, tables, settings, utcnow()).alerted == ALERTS

    async def start_then_stop() -> None:
        sender = AlertSender(engine, tables, settings, ApiMetrics())
        sender.start()
        for _ in range(LANES):  # every lane is inside a send
            assert await asyncio.to_thread(arrived.acquire, timeout=30)
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
