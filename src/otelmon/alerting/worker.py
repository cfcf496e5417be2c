"""The alert loop inside the API process: dispatch due groups, send, record, sleep until the next due.

Database work runs in threads and SMTP is asyncio, so the event loop keeps serving requests.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from otelmon.alerting import delivery
from otelmon.alerting.dispatch import dispatch_due
from otelmon.alerting.outbox import utcnow
from otelmon.api.metrics import ApiMetrics
from otelmon.config import Settings
from otelmon.email.smtp import SmtpSender
from otelmon.storage.tables import Tables

log = logging.getLogger(__name__)

_SHUTDOWN_GRACE_SECONDS = 10


class AlertWorker:
    def __init__(self, engine: Engine, tables: Tables, settings: Settings, metrics: ApiMetrics) -> None:
        self.engine = engine
        self.tables = tables
        self.settings = settings
        self.metrics = metrics
        self.sender = SmtpSender(settings)
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="otelmon-alert-worker")

    def wake(self) -> None:
        """New failures were stored: look sooner than the poll interval."""
        self._wake.set()

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._task is None:
            return
        try:
            # Let a send in progress finish; what is cut off stays leased and is resent later.
            await asyncio.wait_for(asyncio.shield(self._task), _SHUTDOWN_GRACE_SECONDS)
        except (TimeoutError, asyncio.TimeoutError):
            self._task.cancel()

    async def _run(self) -> None:
        poll = self.settings.alert_poll_seconds
        while not self._stopping:
            try:
                wait = await self.tick()
            except Exception:  # noqa: BLE001 - a database blip must not end alerting
                log.warning("alert worker tick failed; retrying in %.1fs", poll, exc_info=True)
                wait = poll
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=max(wait, 0.0))
            except (TimeoutError, asyncio.TimeoutError):
                pass
            self._wake.clear()

    async def tick(self) -> float:
        """One round of work; returns seconds until the next known due moment (at most the poll interval)."""
        stats = await run_in_threadpool(dispatch_due, self.engine, self.tables, self.settings, utcnow())
        m = self.metrics
        m.alerts_suppressed.inc(stats.suppressed)
        m.alerts_held.inc(stats.held)
        while not self._stopping:
            claimed = await run_in_threadpool(delivery.claim, self.engine, self.tables, self.settings, utcnow())
            if not claimed:
                break
            sendable = [c for c in claimed if c.message is not None]
            outcomes = await self.sender.send([c.message for c in sendable])
            errors = dict(zip([c.alert_id for c in sendable], outcomes, strict=True))
            results = [(c, errors.get(c.alert_id)) for c in claimed]
            sent, failed = await run_in_threadpool(
                delivery.record, self.engine, self.tables, self.settings, results, utcnow()
            )
            for item, error in results:
                if error is not None or item.error is not None:
                    log.warning("alert %s not sent (attempt %s): %s", item.alert_id, item.attempts, item.error or error)
            m.alerts_sent.inc(sent)
            m.alerts_failed.inc(failed)
            if sent < len(claimed):
                break  # the rest waits for its backoff
        next_due = await run_in_threadpool(delivery.next_due, self.engine, self.tables)
        m.outbox_backlog.set(await run_in_threadpool(delivery.backlog, self.engine, self.tables))
        return _seconds_until(next_due, self.settings.alert_poll_seconds)


def _seconds_until(moment: datetime | None, poll: float) -> float:
    if moment is None:
        return poll
    return min(max((moment - utcnow()) / timedelta(seconds=1), 0.0), poll)
