"""Sending alerts as a pipeline: claim -> compose -> send -> record, each stage running on its own.

A send cycle that claims a batch, sends all of it and records all of it before claiming again makes an
alert wait for the whole batch ahead of it. Here the claimer hands each composed email to a queue as
soon as its small batch is ready, a few lanes each keep one SMTP connection open and take the next
email as soon as they are free, and a recorder writes outcomes in batches while the lanes go on.

Guarantees are those of ``delivery``: a claim is a lease, so what this process claimed and did not
record (it died) is taken over once the lease runs out; on a graceful stop, claimed alerts that were
never tried are given back at once. Alerts set aside as unroutable are looked at again at start and every
poll interval (``delivery.reroute``; each only once with this process's settings), so they leave as soon
as the configuration routes them.
"""

from __future__ import annotations

import asyncio
import logging
import time

import aiosmtplib
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from otelmon.alerting import delivery
from otelmon.alerting.delivery import Claimed
from otelmon.alerting.wakeup import sleep_until_woken
from otelmon.clock import seconds_until, utcnow
from otelmon.config import Settings
from otelmon.email.smtp import SmtpConnection
from otelmon.metrics import Metrics
from otelmon.storage.installation import ensure_installation_id
from otelmon.storage.tables import Tables

log = logging.getLogger(__name__)

# Claimed but not yet recorded, at most: a lease must not run out while an email waits in the queue.
_MAX_IN_FLIGHT = 100
# A lane closes its connection after this long without work (servers drop idle clients after minutes).
_IDLE_CLOSE_SECONDS = 5.0

# How often the sender looks at every unroutable alert again, not only at those set aside since its last look.
_FULL_REROUTE_SECONDS = 60.0

class AlertSender:
    def __init__(self, engine: Engine, tables: Tables, settings: Settings, metrics: Metrics) -> None:
        self.engine = engine
        self.tables = tables
        self.settings = settings
        self.metrics = metrics
        self._queue: asyncio.Queue[Claimed | None] = asyncio.Queue()
        self._outcomes: list[tuple[Claimed, Exception | None]] = []
        self._outcome_ready = asyncio.Event()
        self._wake = asyncio.Event()
        self._in_flight = 0
        self._stopping = False
        self._claimer: asyncio.Task | None = None
        self._lanes: list[asyncio.Task] = []
        self._recorder: asyncio.Task | None = None

    def start(self) -> None:
        self._claimer = asyncio.create_task(self._claim_loop(), name="otelmon-alert-claim")
        self._lanes = [asyncio.create_task(self._lane(), name=f"otelmon-alert-smtp-{n}")
                       for n in range(self.settings.smtp_max_connections)]
        self._recorder = asyncio.create_task(self._record_loop(), name="otelmon-alert-record")

    def wake(self) -> None:
        """New alerts may be due."""
        self._wake.set()

    async def stop(self, grace: float) -> None:
        """Stop claiming; send and record what is queued within ``grace`` seconds; give back the rest."""
        self._stopping = True
        self._wake.set()
        if self._claimer is None:
            return
        deadline = time.monotonic() + grace
        await asyncio.wait([self._claimer], timeout=grace)
        for _ in self._lanes:
            self._queue.put_nowait(None)  # after everything already queued
        await asyncio.wait(self._lanes, timeout=max(0.0, deadline - time.monotonic()))
        self._outcome_ready.set()
        await asyncio.wait([self._recorder], timeout=max(0.1, deadline - time.monotonic()))
        for task in [self._claimer, *self._lanes, self._recorder]:
            task.cancel()
        untried = []
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is not None:
                untried.append(item.alert_id)
        if untried:
            await run_in_threadpool(delivery.release, self.engine, self.tables, untried)

    async def _claim_loop(self) -> None:
        poll = self.settings.alert_poll_seconds
        started = False
        next_reroute = next_full_reroute = 0.0
        # Unroutable alerts up to this id were looked at with these settings: no need to look at them again,
        # except in the full pass every _FULL_REROUTE_SECONDS: another replica, configured differently (a
        # rolling change of settings), may have set aside an alert with a lower id.
        rerouted_upto = 0
        while not self._stopping:
            wait = poll
            try:
                if not started:  # a new database gets its installation id on first start
                    await run_in_threadpool(ensure_installation_id, self.engine)
                    started = True
                if time.monotonic() >= next_full_reroute:
                    next_full_reroute = time.monotonic() + _FULL_REROUTE_SECONDS
                    rerouted_upto = 0
                if time.monotonic() >= next_reroute:
                    next_reroute = time.monotonic() + poll
                    rerouted, rerouted_upto = await run_in_threadpool(
                        delivery.reroute, self.engine, self.tables, self.settings, utcnow(), rerouted_upto)
                    if rerouted:
                        log.info("%d unroutable alerts have recipients now: sending them", rerouted)
                room = _MAX_IN_FLIGHT - self._in_flight
                if room > 0:
                    claimed = await run_in_threadpool(
                        delivery.claim, self.engine, self.tables, self.settings, utcnow(),
                        min(room, delivery.CLAIM_LIMIT),
                    )
                    if claimed:
                        self._in_flight += len(claimed)
                        for item in claimed:
                            if item.message is None:  # could not be composed: recorded as a failed try
                                self._finished(item, None)
                            else:
                                self._queue.put_nowait(item)
                        continue  # more may be due
                    wait = seconds_until(await run_in_threadpool(delivery.next_retry, self.engine, self.tables), poll)
            except Exception:  # noqa: BLE001 - a database blip must not end alerting
                log.warning("alert sender: claim failed; retrying in %.1fs", poll, exc_info=True)
            await sleep_until_woken(self._wake, wait)

    async def _lane(self) -> None:
        connection = SmtpConnection(self.settings)
        try:
            while True:
                if connection.is_open:
                    try:
                        item = await asyncio.wait_for(self._queue.get(), timeout=_IDLE_CLOSE_SECONDS)
                    except (TimeoutError, asyncio.TimeoutError):
                        await connection.close()
                        continue
                else:
                    item = await self._queue.get()
                if item is None:
                    return
                if delivery.lease_expired(item, self.settings):
                    # It waited here past its lease (a slow or hanging server): another sender may have
                    # taken it over, so sending it now could send it twice. Its new owner sends it.
                    log.warning("alert %s: lease ran out while queued; left to whoever holds it now", item.alert_id)
                    self._in_flight -= 1
                    self._wake.set()
                    continue
                try:
                    await connection.open()
                except (aiosmtplib.SMTPException, OSError) as exc:
                    # The server cannot be reached: fail what is queued now, rather than each email
                    # after its own connect timeout; they are retried with backoff.
                    self._finished(item, exc)
                    self._fail_queued(exc)
                    continue
                try:
                    error = await connection.send(item.message)
                except Exception as exc:  # noqa: BLE001 - a lane must outlive any one email
                    await connection.close()
                    error = exc
                self._finished(item, error)
        finally:
            await connection.close()

    def _fail_queued(self, error: Exception) -> None:
        kept_sentinels = 0
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is None:
                kept_sentinels += 1
            else:
                self._finished(item, error)
        for _ in range(kept_sentinels):
            self._queue.put_nowait(None)

    def _finished(self, item: Claimed, error: Exception | None) -> None:
        self._outcomes.append((item, error))
        self._outcome_ready.set()

    async def _record_loop(self) -> None:
        poll = self.settings.alert_poll_seconds
        while True:
            await self._outcome_ready.wait()
            self._outcome_ready.clear()
            batch, self._outcomes = self._outcomes, []
            if not batch:
                if self._stopping and self._in_flight == 0:
                    return
                continue
            try:
                sent, failed = await run_in_threadpool(
                    delivery.record, self.engine, self.tables, self.settings, batch, utcnow())
            except Exception:  # noqa: BLE001 - keep the outcomes and try again, while the lease holds
                kept = [(item, error) for item, error in batch if not delivery.lease_expired(item, self.settings)]
                log.warning("alert sender: recording %d outcomes failed; retrying %d in %.1fs (the rest are"
                            " sent again once their lease runs out)", len(batch), len(kept), poll, exc_info=True)
                self._in_flight -= len(batch) - len(kept)
                self._outcomes = kept + self._outcomes
                await asyncio.sleep(poll)  # a database outage: wait, do not spin
                self._outcome_ready.set()
                continue
            for item, error in batch:
                if error is not None or item.error is not None:
                    log.warning("alert %s not sent (attempt %s): %s", item.alert_id, item.attempts,
                                item.error or error)
            self.metrics.alerts_sent.inc(sent)
            self.metrics.alerts_failed.inc(failed)
            was_full = self._in_flight >= _MAX_IN_FLIGHT
            self._in_flight -= len(batch)
            if was_full or sent < len(batch):
                self._wake.set()  # room to claim again, or a retry time the claimer must wait for
            if self._stopping and self._in_flight == 0:
                return

