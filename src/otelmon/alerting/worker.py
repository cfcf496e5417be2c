"""The alert loops inside the API process.

Two asyncio tasks, so that grouping never waits behind a slow SMTP server and sending never waits
behind a storm being grouped:
- dispatch: when a group's wait has run out, turn it into an alert (or a suppression, or a hold);
- send: claim alerts that are due, send them over a few SMTP connections, record the outcome.
Database work runs in threads and SMTP is asyncio, so the event loop keeps serving requests.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select
from starlette.concurrency import run_in_threadpool

from otelmon.alerting import delivery
from otelmon.alerting.dispatch import dispatch_due
from otelmon.alerting.outbox import HELD, NEW
from otelmon.api.metrics import ApiMetrics
from otelmon.clock import utcnow
from otelmon.config import Settings
from otelmon.email.smtp import SmtpSender
from otelmon.storage.tables import Tables

log = logging.getLogger(__name__)

_SHUTDOWN_GRACE_SECONDS = 10
# Dispatch passes are at least this far apart: under a stream of failures every pass pays a dozen
# statements, so groups that fall due close together are taken in one pass (adds at most this latency).
_DISPATCH_MIN_INTERVAL = 0.1
# The backlog gauge is refreshed at most this often (two COUNT queries).
_BACKLOG_REFRESH_SECONDS = 1.0


class AlertWorker:
    def __init__(self, engine: Engine, tables: Tables, settings: Settings, metrics: ApiMetrics) -> None:
        self.engine = engine
        self.tables = tables
        self.settings = settings
        self.metrics = metrics
        self.sender = SmtpSender(settings)
        self._new_failures = asyncio.Event()
        self._new_alerts = asyncio.Event()
        self._stopping = False
        # True while no group is waiting: only then can a new failure change when dispatch must run
        # (otherwise the earliest due group is already known and a new one is due later).
        self._dispatch_idle = True
        self._backlog_refreshed = 0.0
        self._tasks: list[asyncio.Task] = []

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._loop(self.dispatch_once, self._new_failures), name="otelmon-alert-dispatch"),
            asyncio.create_task(self._loop(self.send_once, self._new_alerts), name="otelmon-alert-send"),
        ]

    def wake(self) -> None:
        """New failures were stored: their group wait has started."""
        if self._dispatch_idle:
            self._new_failures.set()

    async def stop(self) -> None:
        self._stopping = True
        self._new_failures.set()
        self._new_alerts.set()
        if not self._tasks:
            return
        # Let a send in progress finish; what is cut off stays leased and is resent later.
        _, pending = await asyncio.wait(self._tasks, timeout=_SHUTDOWN_GRACE_SECONDS)
        for task in pending:
            task.cancel()

    async def _loop(self, work: Callable[[], Awaitable[float]], wake: asyncio.Event) -> None:
        poll = self.settings.alert_poll_seconds
        while not self._stopping:
            try:
                wait = await work()
            except Exception:  # noqa: BLE001 - a database blip must not end alerting
                log.warning("alert worker: %s failed; retrying in %.1fs", work.__name__, poll, exc_info=True)
                wait = poll
            if wait > 0:
                try:
                    await asyncio.wait_for(wake.wait(), timeout=wait)
                except (TimeoutError, asyncio.TimeoutError):
                    pass
            wake.clear()

    async def dispatch_once(self) -> float:
        """Dispatch due groups; returns seconds until the next group is due (at most the poll interval)."""
        started = time.perf_counter()
        stats = await run_in_threadpool(dispatch_due, self.engine, self.tables, self.settings, utcnow())
        self.metrics.alerts_suppressed.inc(stats.suppressed)
        self.metrics.alerts_held.inc(stats.held)
        if stats.alerted or stats.summaries:
            self._new_alerts.set()
        if stats.alerted or stats.suppressed or stats.held:
            log.debug("alert dispatch: %d alerted, %d suppressed, %d held in %.3fs", stats.alerted,
                      stats.suppressed, stats.held, time.perf_counter() - started)
        next_due = await run_in_threadpool(self._next_dispatch)
        self._dispatch_idle = next_due is None
        await self._refresh_backlog()
        return max(_seconds_until(next_due, self.settings.alert_poll_seconds), _DISPATCH_MIN_INTERVAL)

    async def send_once(self) -> float:
        """Send every due alert; returns seconds until the next retry is due (at most the poll interval)."""
        started = time.perf_counter()
        total = 0
        while not self._stopping:
            claimed = await run_in_threadpool(delivery.claim, self.engine, self.tables, self.settings, utcnow())
            if not claimed:
                break
            sendable = [c for c in claimed if c.message is not None]
            outcomes = await self.sender.send_many([c.message for c in sendable])
            errors = dict(zip([c.alert_id for c in sendable], outcomes, strict=True))
            results = [(c, errors.get(c.alert_id)) for c in claimed]
            sent, failed = await run_in_threadpool(
                delivery.record, self.engine, self.tables, self.settings, results, utcnow()
            )
            for item, error in results:
                if error is not None or item.error is not None:
                    log.warning("alert %s not sent (attempt %s): %s", item.alert_id, item.attempts, item.error or error)
            self.metrics.alerts_sent.inc(sent)
            self.metrics.alerts_failed.inc(failed)
            total += sent
            if sent < len(claimed):
                break  # the rest waits for its backoff
        if total:
            log.debug("alert send: %d sent in %.3fs", total, time.perf_counter() - started)
            await self._refresh_backlog(force=True)
        next_retry = await run_in_threadpool(delivery.next_retry, self.engine, self.tables)
        return _seconds_until(next_retry, self.settings.alert_poll_seconds)

    def _next_dispatch(self) -> datetime | None:
        ob = self.tables.alert_outbox
        with self.engine.connect() as conn:
            next_due = conn.execute(select(func.min(ob.c.due_at)).where(ob.c.state == NEW)).scalar()
            if next_due is not None:
                return next_due
            # Held failures wait for the next storm summary: look again within a poll interval.
            held = conn.execute(select(ob.c.failure_id).where(ob.c.state == HELD).limit(1)).first()
        return utcnow() + timedelta(seconds=self.settings.alert_poll_seconds) if held else None

    async def _refresh_backlog(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._backlog_refreshed >= _BACKLOG_REFRESH_SECONDS:
            self._backlog_refreshed = now
            self.metrics.outbox_backlog.set(await run_in_threadpool(delivery.backlog, self.engine, self.tables))


def _seconds_until(moment: datetime | None, poll: float) -> float:
    if moment is None:
        return poll
    return min(max((moment - utcnow()) / timedelta(seconds=1), 0.0), poll)
