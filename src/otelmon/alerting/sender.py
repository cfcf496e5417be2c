"""Sending alerts as a pipeline: claim -> render -> send -> record, each stage running on its own.

The claimer hands each rendered delivery to a task of its own as soon as its small batch is ready; a task
waits for a slot of its integration (email: the SMTP connections the settings allow; each HTTP channel: a
few calls at once), sends, and leaves the outcome to a recorder that writes outcomes in batches while the
sends go on. A slow or dead channel fills only its own slots: email never waits behind a webhook.

Guarantees are those of ``delivery``: a claim is a lease, so what this process claimed and did not record
(it died) is taken over once the lease runs out; on a graceful stop, deliveries claimed but never tried are
given back at once. Alerts set aside as unroutable are looked at again at start and every poll interval
(``delivery.reroute``; each only once with this process's configuration), so they leave as soon as the
configuration routes them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, defaultdict

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from otelmon.alerting import delivery
from otelmon.alerting.delivery import Claimed
from otelmon.alerting.notifiers import Notifiers
from otelmon.alerting.notify.base import Outcome, RetryLater
from otelmon.alerting.wakeup import sleep_until_woken
from otelmon.clock import seconds_until, utcnow
from otelmon.config import Settings
from otelmon.metrics import Metrics
from otelmon.storage.installation import ensure_installation_id
from otelmon.storage.tables import Tables

log = logging.getLogger(__name__)

# Claimed but not yet recorded, at most, per integration and in all: a lease must not run out while a
# delivery waits for its slot. Per integration, so that a slow channel's backlog fills only its own
# places: the claimer leaves a saturated integration's deliveries in the database and goes on claiming
# the others' (measured: with one cap for all, a 2 s webhook brought email down to the webhook's pace).
# An HTTP channel's cap is what its slots can send within half a lease even when every call takes its full
# timeout (8 slots x 10 s calls x 3 in 30 s = 24): deliveries beyond it would wait out their lease.
_MAX_IN_FLIGHT_EMAIL = 100
_MAX_IN_FLIGHT_HTTP = 24
_MAX_IN_FLIGHT = 400
# A send starts only with twice this much of its lease left (a tenth of the lease, if less), and is cut this
# long before the lease ends: a send still running when another replica may take the delivery over could
# send it twice.
_LEASE_MARGIN_SECONDS = 5.0
# Calls at once to one HTTP integration (all its targets): vendors rate-limit per app or per webhook.
_HTTP_SLOTS = 8
# How often the sender looks at every unroutable alert again, not only at those set aside since its last look.
_FULL_REROUTE_SECONDS = 60.0


class AlertSender:
    def __init__(self, engine: Engine, tables: Tables, settings: Settings, metrics: Metrics,
                 notifiers: Notifiers | None = None) -> None:
        self.engine = engine
        self.tables = tables
        self.settings = settings
        self.metrics = metrics
        self.notifiers = notifiers or Notifiers(settings)
        self._slots: dict[str, asyncio.Semaphore] = defaultdict(lambda: asyncio.Semaphore(_HTTP_SLOTS))
        self._slots["email"] = asyncio.Semaphore(max(1, settings.smtp_max_connections))
        self._outcomes: list[tuple[Claimed, Outcome | None]] = []
        self._outcome_ready = asyncio.Event()
        self._wake = asyncio.Event()
        self._in_flight = 0
        self._by_integration: Counter[str] = Counter()
        self._waiting: set[int] = set()  # ids of claimed items whose send has not begun
        self._tasks: dict[int, tuple[asyncio.Task, Claimed]] = {}
        self._stopping = False
        self._claimer: asyncio.Task | None = None
        self._recorder: asyncio.Task | None = None

    def start(self) -> None:
        self._claimer = asyncio.create_task(self._claim_loop(), name="otelmon-alert-claim")
        self._recorder = asyncio.create_task(self._record_loop(), name="otelmon-alert-record")

    def wake(self) -> None:
        """New alerts may be due."""
        self._wake.set()

    async def stop(self, grace: float) -> None:
        """Stop claiming; send and record what was claimed within ``grace`` seconds; give back the rest."""
        self._stopping = True
        self._wake.set()
        if self._claimer is None:
            await self.notifiers.aclose()
            return
        deadline = time.monotonic() + grace
        await asyncio.wait([self._claimer], timeout=grace)
        sends = [task for task, _ in self._tasks.values()]
        if sends:
            await asyncio.wait(sends, timeout=max(0.0, deadline - time.monotonic()))
        self._outcome_ready.set()
        await asyncio.wait([self._recorder], timeout=max(0.1, deadline - time.monotonic()))
        untried = [item for key, (_, item) in self._tasks.items() if key in self._waiting]
        for task in [self._claimer, self._recorder, *(task for task, _ in self._tasks.values())]:
            task.cancel()
        if untried:
            await run_in_threadpool(delivery.release, self.engine, self.tables, untried)
        await self.notifiers.aclose()

    async def _claim_loop(self) -> None:
        poll = self.settings.alert_poll_seconds
        started = False
        next_reroute = next_full_reroute = 0.0
        # Unroutable alerts up to this id were looked at with this configuration: no need to look at them
        # again, except in the full pass every _FULL_REROUTE_SECONDS: another replica, configured
        # differently (a rolling change of configuration), may have set aside an alert with a lower id.
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
                        delivery.reroute, self.engine, self.tables, self.settings, utcnow(), rerouted_upto,
                        self.notifiers)
                    if rerouted:
                        log.info("%d unroutable alerts have somewhere to go now: sending them", rerouted)
                room = _MAX_IN_FLIGHT - self._in_flight
                if room > 0:
                    claimed = await run_in_threadpool(
                        delivery.claim, self.engine, self.tables, self.settings, utcnow(),
                        min(room, delivery.CLAIM_LIMIT), self.notifiers, self._saturated(),
                    )
                    if claimed:
                        self._in_flight += len(claimed)
                        self._by_integration.update(item.integration for item in claimed)
                        for item in claimed:
                            if item.message is None:  # could not be rendered: recorded as a failed try
                                self._finished(item, None)
                            else:
                                self._waiting.add(item.delivery_id)
                                task = asyncio.create_task(self._deliver(item),
                                                           name=f"otelmon-deliver-{item.delivery_id}")
                                self._tasks[item.delivery_id] = (task, item)
                                task.add_done_callback(lambda _t, key=item.delivery_id: self._tasks.pop(key, None))
                        continue  # more may be due
                    if self._saturated():
                        # What is due may all be a saturated channel's: the recorder wakes the claimer as
                        # places free up; until then, look again in a poll interval, not at once.
                        wait = poll
                    else:
                        wait = seconds_until(
                            await run_in_threadpool(delivery.next_retry, self.engine, self.tables), poll)
            except Exception:  # noqa: BLE001 - a database blip must not end alerting
                log.warning("alert sender: claim failed; retrying in %.1fs", poll, exc_info=True)
            await sleep_until_woken(self._wake, wait)

    async def _deliver(self, item: Claimed) -> None:
        async with self._slots[item.integration]:
            self._waiting.discard(item.delivery_id)
            lease = delivery.lease_seconds(self.settings)
            margin = min(_LEASE_MARGIN_SECONDS, lease / 10)
            left = lease - (time.monotonic() - item.claimed_at)
            if left < 2 * margin:
                # It waited for its slot nearly as long as its lease: sending now could outlast the lease and
                # another replica could send it too. Given back untried (no attempt counted), due at once.
                log.warning("alert %s (%s): lease nearly over before sending; given back", item.alert_id,
                            item.integration)
                try:
                    await run_in_threadpool(delivery.release, self.engine, self.tables, [item])
                except Exception:  # noqa: BLE001 - its lease runs out and another claim takes it
                    log.warning("alert %s: giving back failed", item.alert_id, exc_info=True)
                self._settled([item])
                self._wake.set()
                return
            target = self.notifiers.target(item.receiver, item.integration, item.target)
            if target is None:  # the configuration changed under it: recorded as failed
                item.error, item.permanent = f"receiver {item.receiver!r} has no such target any more", True
                self._finished(item, None)
                return
            # A notifier bounds its own calls; this bounds a notifier that forgot to, inside the lease.
            guard = min(lease / 2, left - margin)
            try:
                outcome = await asyncio.wait_for(self.notifiers.notifier(target).send(item.message), timeout=guard)
            except (TimeoutError, asyncio.TimeoutError):
                outcome = RetryLater(f"{item.integration}: no answer within {guard:.0f}s")
            except Exception as exc:  # noqa: BLE001 - a send must outlive any one notifier's bug
                log.exception("alert %s: %s notifier raised", item.alert_id, item.integration)
                outcome = RetryLater(f"{item.integration}: {type(exc).__name__}")
        self._finished(item, outcome)

    def _saturated(self) -> frozenset[str]:
        return frozenset(name for name, count in self._by_integration.items()
                         if count >= (_MAX_IN_FLIGHT_EMAIL if name == "email" else _MAX_IN_FLIGHT_HTTP))

    def _settled(self, items: list[Claimed]) -> None:
        """These claimed deliveries are no longer this sender's to hold."""
        self._in_flight -= len(items)
        self._by_integration.subtract(item.integration for item in items)

    def _finished(self, item: Claimed, outcome: Outcome | None) -> None:
        self._outcomes.append((item, outcome))
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
                stats = await run_in_threadpool(
                    delivery.record, self.engine, self.tables, self.settings, batch, utcnow())
            except Exception:  # noqa: BLE001 - keep the outcomes and try again, while the lease holds
                kept = [(item, outcome) for item, outcome in batch if not delivery.lease_expired(item, self.settings)]
                log.warning("alert sender: recording %d outcomes failed; retrying %d in %.1fs (the rest are"
                            " sent again once their lease runs out)", len(batch), len(kept), poll, exc_info=True)
                still_kept = {id(item) for item, _ in kept}
                self._settled([item for item, _ in batch if id(item) not in still_kept])
                self._outcomes = kept + self._outcomes
                await asyncio.sleep(poll)  # a database outage: wait, do not spin
                self._outcome_ready.set()
                continue
            for item, outcome in batch:
                if item.error is not None or (outcome is not None and not hasattr(outcome, "reference")):
                    log.warning("alert %s not delivered by %s to %s (attempt %s): %s", item.alert_id,
                                item.integration, item.receiver, item.attempts,
                                item.error or getattr(outcome, "reason", outcome))
            for integration, result in stats.outcomes:
                self.metrics.notifications.labels(integration=integration, outcome=result).inc()
            self.metrics.alerts_sent.inc(stats.sent)
            self.metrics.alerts_failed.inc(stats.failed)
            was_full = self._in_flight >= _MAX_IN_FLIGHT or bool(self._saturated())
            self._settled([item for item, _ in batch])
            if was_full or any(result != "delivered" for _, result in stats.outcomes):
                self._wake.set()  # room to claim again, or a retry time the claimer must wait for
            if self._stopping and self._in_flight == 0:
                return
