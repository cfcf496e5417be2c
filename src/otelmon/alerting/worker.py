"""The alert work inside the API process.

Dispatch and sending run apart, so that grouping never waits behind a slow SMTP server and sending
never waits behind a storm being grouped:
- dispatch (here): when a group's wait has run out, turn it into an alert (or a suppression, or a hold);
- sending (``sender.AlertSender``): route due alerts to their targets, send each delivery, record.
Database work runs in threads and every channel is asyncio, so the event loop keeps serving requests.
"""

from __future__ import annotations

import asyncio
import logging
import time

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from otelmon.alerting.dispatch import dispatch_due
from otelmon.alerting.notifiers import Notifiers
from otelmon.alerting.routing import Router
from otelmon.alerting.sender import AlertSender
from otelmon.alerting.wakeup import sleep_until_woken
from otelmon.clock import seconds_until, utcnow
from otelmon.config import Settings
from otelmon.metrics import Metrics
from otelmon.storage.tables import Tables

log = logging.getLogger(__name__)

_SHUTDOWN_GRACE_SECONDS = 10
# Dispatch passes are at least this far apart: under a stream of failures every pass pays a dozen
# statements, so groups that fall due close together are taken in one pass (adds at most this latency).
_DISPATCH_MIN_INTERVAL = 0.1


class AlertWorker:
    def __init__(self, engine: Engine, tables: Tables, settings: Settings, metrics: Metrics,
                 router: Router | None = None) -> None:
        self.engine = engine
        self.tables = tables
        self.settings = settings
        self.metrics = metrics
        self.router = router or Router.from_settings(settings)
        self.sender = AlertSender(engine, tables, settings, metrics, Notifiers(settings, self.router))
        self._new_failures = asyncio.Event()
        self._stopping = False
        # True while no group is waiting: only then can a new failure change when dispatch must run
        # (otherwise the earliest due group is already known and a new one is due later).
        self._dispatch_idle = True
        self._dispatcher: asyncio.Task | None = None

    def start(self) -> None:
        for warning in self.router.warnings():
            log.warning(warning)
        self._dispatcher = asyncio.create_task(self._dispatch_loop(), name="otelmon-alert-dispatch")
        self.sender.start()

    def wake(self) -> None:
        """New failures were stored: their group wait has started."""
        if self._dispatch_idle:
            self._new_failures.set()

    async def stop(self) -> None:
        self._stopping = True
        self._new_failures.set()
        if self._dispatcher is None:
            return
        # A dispatch pass in progress finishes (it is one transaction); sends in progress get the grace.
        await asyncio.wait([self._dispatcher], timeout=_SHUTDOWN_GRACE_SECONDS)
        self._dispatcher.cancel()
        await self.sender.stop(_SHUTDOWN_GRACE_SECONDS)

    async def _dispatch_loop(self) -> None:
        poll = self.settings.alert_poll_seconds
        while not self._stopping:
            try:
                wait = await self.dispatch_once()
            except Exception:  # noqa: BLE001 - a database blip must not end alerting
                log.warning("alert dispatch failed; retrying in %.1fs", poll, exc_info=True)
                wait = poll
            await sleep_until_woken(self._new_failures, wait)

    async def dispatch_once(self) -> float:
        """Dispatch due groups; returns seconds until the next group is due (at most the poll interval)."""
        started = time.perf_counter()
        stats = await run_in_threadpool(dispatch_due, self.engine, self.tables, self.settings, utcnow(), self.router)
        self.metrics.alerts_suppressed.inc(stats.suppressed)
        self.metrics.alerts_held.inc(stats.held)
        if stats.alerted or stats.summaries or stats.recoveries:
            self.sender.wake()
        if stats.alerted or stats.suppressed or stats.held:
            log.debug("alert dispatch: %d alerted, %d suppressed, %d held in %.3fs", stats.alerted,
                      stats.suppressed, stats.held, time.perf_counter() - started)
        self._dispatch_idle = stats.next_due is None
        return max(seconds_until(stats.next_due, self.settings.alert_poll_seconds), _DISPATCH_MIN_INTERVAL)
