"""Turn due outbox rows into alerts: group by trace, throttle by fingerprint, cap storms.

Each pass is one transaction over rows locked with ``FOR UPDATE SKIP LOCKED`` (MariaDB), so several
API replicas dispatch side by side without taking the same group twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Connection, Engine, case, func, select, update
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from otelmon.alerting.outbox import (
    ALERTED,
    HELD,
    NEW,
    RECOVERED,
    RETRYING,
    SUMMARIZED,
    SUPERSEDED,
    SUPPRESSED,
    mark_silenced,
)
from otelmon.alerting.routing import Labels, Route, Router, router_for
from otelmon.clock import utcnow
from otelmon.config import Settings
from otelmon.silences.store import silenced_failure_ids
from otelmon.storage.dialect import is_mysql
from otelmon.storage.tables import Tables

GROUPS_PER_PASS = 500
_IDS_PER_STATEMENT = 1000
STORM_WINDOW = timedelta(minutes=1)
_ANY_ROUTE = object()  # one storm cap for every alert (no route sets its own)
PENDING = "pending"


@dataclass
class DispatchStats:
    alerted: int = 0
    suppressed: int = 0
    held: int = 0
    summaries: int = 0
    held_for_retry: int = 0  # groups of a try the scheduler will retry
    settled: int = 0  # held tries whose run's next try (or hold deadline) decided
    recoveries: int = 0  # recovery notices created (issues resolved after an alert)
    # When dispatch must run again: the end of the earliest group wait still running, or a poll interval
    # from now while failures are held for a storm summary; None while nothing waits.
    next_due: datetime | None = None

    def add(self, other: DispatchStats) -> None:
        self.alerted += other.alerted
        self.suppressed += other.suppressed
        self.held += other.held
        self.summaries += other.summaries
        self.held_for_retry += other.held_for_retry


def dispatch_due(engine: Engine, tables: Tables, settings: Settings, now: datetime,
                 router: Router | None = None) -> DispatchStats:
    router = router or router_for(settings)
    total = DispatchStats()
    ob = tables.alert_outbox
    # One connection for the whole cycle: each checkout pays a ping, and under a stream of failures
    # cycles follow each other closely.
    with engine.connect() as conn:
        with conn.begin():
            total.settled = settle_retries(conn, tables, now)
        # Bounded: a storm larger than this many passes is finished by the next cycle.
        for _ in range(20):
            with conn.begin():
                stats, more = _dispatch_pass(conn, tables, settings, now, router)
            total.add(stats)
            if not more:
                break
        with conn.begin():
            held = conn.execute(select(ob.c.failure_id).where(ob.c.state == HELD).limit(1)).first() is not None
            if held:
                total.summaries += _summarize_held(conn, tables, settings, now)
            total.recoveries = announce_recoveries(conn, tables, now)
            total.next_due = conn.execute(
                select(func.min(ob.c.due_at)).where(ob.c.state.in_([NEW, RETRYING]))).scalar()
    if total.next_due is None and held and not total.summaries:
        # Held back by a summary sent within the storm window: look again within a poll interval.
        total.next_due = utcnow() + timedelta(seconds=settings.alert_poll_seconds)
    return total


def _dispatch_pass(conn: Connection, tables: Tables, settings: Settings, now: datetime,
                   router: Router) -> tuple[DispatchStats, bool]:
    ob, f = tables.alert_outbox, tables.failures
    keys = list(
        conn.execute(
            select(ob.c.group_key).where(ob.c.state == NEW, ob.c.due_at <= now).distinct().limit(GROUPS_PER_PASS)
        ).scalars()
    )
    stats = DispatchStats()
    if not keys:
        return stats, False
    # Every new member of a due group goes with it, also those whose own wait has not run out.
    locked = conn.execute(
        select(ob.c.failure_id, ob.c.group_key, ob.c.fingerprint, ob.c.will_retry)
        .where(ob.c.state == NEW, ob.c.group_key.in_(keys))
        .with_for_update(skip_locked=True)
    ).all()
    if not locked:
        return stats, len(keys) == GROUPS_PER_PASS
    members: dict[str, list[int]] = defaultdict(list)
    for failure_id, group_key, _, _ in locked:
        members[group_key].append(failure_id)
    # A failure's details are needed to find the outermost of several and to order groups for the budget.
    # A storm is mostly one-failure groups that repeat a fingerprint emailed moments ago (suppressed) or
    # come past the cap (held): for those the outbox row is all there is to read.
    lone = {fid: _Lone(fid, fingerprint) for fid, _, fingerprint, _ in locked}
    # Where routes set their own repeat interval or storm cap, each group's route decides both: every head's
    # details are read (a route may match on owner or tags, kept in the attributes).
    per_route = router.policies_vary()
    failures = _details(conn, f, [fid for ids in members.values() if len(ids) > 1 or per_route for fid in ids],
                        with_attributes=per_route)
    # A run's tries share its trace (Airflow): a try the scheduler retried and the run's later try can arrive
    # in one group (one export batch). The later try decides: the retried one is superseded at once, and
    # must neither head the group nor hold it.
    flagged = {fid for fid, _, _, flag in locked if flag}
    superseded = _superseded_within_groups(members, failures, flagged)
    if superseded:
        members = {key: [i for i in ids if i not in superseded] for key, ids in members.items()}
        members = {key: ids for key, ids in members.items() if ids}
        _mark(conn, tables, sorted(superseded), SUPERSEDED)
    heads = {key: _outermost([failures[i] for i in ids]) if len(ids) > 1 else failures.get(ids[0], lone[ids[0]])
             for key, ids in members.items()}
    routes = {key: _first_route(router, head) for key, head in heads.items()} if per_route else {}
    throttle = _load_throttle(conn, tables, {h.fingerprint for h in heads.values()})

    def repeat(key: str) -> timedelta:
        route = routes.get(key)
        return timedelta(seconds=route.repeat_interval_seconds if route else settings.alert_repeat_interval_seconds)

    # A group whose head an active silence matches is not alerted: its failures stay stored and shown
    # (silenced), and its fingerprint's repeat interval is left as it was. Without an active silence this is
    # one read of the silences table; with one, a storm's lone heads get the labels it looks at.
    silenced_heads = silenced_failure_ids(conn, tables, list(heads.values()), now)
    silenced = {key: silenced_heads[head.id] for key, head in heads.items() if head.id in silenced_heads}
    groups = [(key, ids) for key, ids in members.items() if key not in silenced]
    # A try the scheduler will retry is held, not alerted: its run's next try decides (``settle_retries``).
    retrying: list[str] = []
    if not settings.alert_every_try:
        will_retry = {fid for fid, _, _, flag in locked if flag}
        retrying = [key for key, ids in groups if any(i in will_retry for i in ids)]
        groups = [(key, ids) for key, ids in groups if key not in set(retrying)]
    # Only a group whose fingerprint was not alerted within the repeat interval can take an alert.
    fresh = [key for key, _ in groups if not _repeating(throttle.get(heads[key].fingerprint), now, repeat(key))]
    budgets: dict[str | None, int] = {}
    for key in fresh:
        route = routes.get(key)
        name = route.name if route else None
        if name not in budgets:
            cap = route.storm_cap_per_minute if route else settings.alert_storm_cap_per_minute
            budgets[name] = cap - _emails_in_window(conn, tables, now, name if per_route else _ANY_ROUTE)
    if any(budget > 0 for budget in budgets.values()):
        lone_fresh = [key for key in fresh if len(members[key]) == 1 and members[key][0] not in failures]
        failures.update(_details(conn, f, [members[key][0] for key in lone_fresh]))
        heads.update({key: failures[members[key][0]] for key in lone_fresh})

        def age(item: tuple[str, list[int]]) -> tuple[bool, datetime | None]:
            # Groups without details go first: they are suppressed wherever they stand.
            ids = item[1]
            return (True, min(failures[i].end_time for i in ids)) if ids[0] in failures else (False, None)

        groups.sort(key=age)  # the oldest failures get the alerts the cap still allows

    suppressed: list[int] = []
    held: list[int] = []
    emails: dict[str, dict[str, Any]] = {}  # group key -> the alert row to create
    for key, ids in groups:
        head = heads[key]
        state = throttle.get(head.fingerprint)
        route = routes.get(key)
        budget_key = route.name if route else None
        if _repeating(state, now, repeat(key)):
            state["suppressed_count"] += 1
            state["dirty"] = True
            suppressed.extend(ids)
            stats.suppressed += 1
        elif budgets.get(budget_key, 0) > 0:
            emails[key] = _alert_row(
                now, kind="failure", group_key=key, fingerprint=head.fingerprint,
                head_failure_id=head.id, failure_count=len(ids),
                suppressed_count=state["suppressed_count"] if state else 0, route=budget_key,
            )
            throttle[head.fingerprint] = {"last_alerted_at": now, "suppressed_count": 0, "dirty": True}
            budgets[budget_key] -= 1
            stats.alerted += 1
        else:
            held.extend(ids)
            stats.held += len(ids)
    # One statement per outcome, not per group: a storm is thousands of groups.
    alerted = _create_alerts(conn, tables, list(emails.values()))
    _mark(conn, tables, suppressed, SUPPRESSED)
    _mark(conn, tables, held, HELD)
    _hold_for_retry(conn, tables, [fid for key in retrying for fid in members[key]],
                    now + timedelta(seconds=settings.alert_retry_hold_seconds))
    stats.held_for_retry += len(retrying)
    mark_silenced(conn, tables, {fid: silence_id for key, silence_id in silenced.items() for fid in members[key]})
    _mark_alerted(conn, tables, [fid for key in alerted for fid in members[key]], alerted)
    _save_throttle(conn, tables, throttle)
    return stats, len(keys) == GROUPS_PER_PASS


def _details(conn: Connection, f: Any, failure_ids: list[int], with_attributes: bool = False) -> dict[int, Any]:
    if not failure_ids:
        return {}
    columns = [f.c.id, f.c.fingerprint, f.c.platform, f.c.group_name, f.c.process_name, f.c.span_id,
               f.c.parent_span_id, f.c.start_time, f.c.end_time, f.c.run_id, f.c.try_number]
    columns += [f.c.attributes] if with_attributes else []
    out: dict[int, Any] = {}
    for start in range(0, len(failure_ids), _IDS_PER_STATEMENT):
        chunk = failure_ids[start : start + _IDS_PER_STATEMENT]
        out.update({row.id: row for row in conn.execute(select(*columns).where(f.c.id.in_(chunk)))})
    return out


def _superseded_within_groups(members: dict[str, list[int]], failures: dict[int, Any],
                              flagged: set[int]) -> set[int]:
    """Failures of tries the scheduler retried whose run's later try is in the same group."""
    out: set[int] = set()
    for ids in members.values():
        if len(ids) < 2 or not flagged.intersection(ids):
            continue
        latest: dict[tuple, int] = {}
        for i in ids:
            row = failures[i]
            if row.run_id and row.try_number is not None:
                key = (row.platform, row.group_name, row.process_name, row.run_id)
                latest[key] = max(latest.get(key, row.try_number), row.try_number)
        for i in ids:
            row = failures[i]
            if i in flagged and row.run_id and row.try_number is not None \
                    and row.try_number < latest[(row.platform, row.group_name, row.process_name, row.run_id)]:
                out.add(i)
    return out


def _first_route(router: Router, head: Any) -> Route | None:
    """The route that owns a group's alert: the first that matches its head (None: no route matches)."""
    if not hasattr(head, "platform"):
        return None
    routes = router.routes_for(Labels.of_failure(head))
    return routes[0] if routes else None


def _repeating(state: dict | None, now: datetime, repeat: timedelta) -> bool:
    """Within the repeat interval of its fingerprint's last email: not emailed again."""
    return state is not None and now - state["last_alerted_at"] < repeat


class _Lone(NamedTuple):
    """The head of a one-failure group that will not be emailed: all a suppression or hold needs."""

    id: int
    fingerprint: str


def _outermost(failures: list[Any]) -> Any:
    """The head of a trace's failures: a span whose parent did not fail too; the earliest, longest one."""
    span_ids = {f.span_id for f in failures if f.span_id}
    roots = [f for f in failures if not f.parent_span_id or f.parent_span_id not in span_ids] or failures
    return min(roots, key=lambda f: (f.start_time, -(f.end_time - f.start_time).total_seconds(), f.id))


def _emails_in_window(conn: Connection, tables: Tables, now: datetime, route: str | None | object) -> int:
    """Failure alerts created within the storm window: all of them, or those of one route (None: of none)."""
    a = tables.alerts
    query = select(func.count()).where(a.c.kind == "failure", a.c.created_at > now - STORM_WINDOW)
    if route is not _ANY_ROUTE:
        query = query.where(a.c.route.is_(None) if route is None else a.c.route == route)
    return conn.execute(query).scalar_one()


def _load_throttle(conn: Connection, tables: Tables, fingerprints: set[str]) -> dict[str, dict]:
    fp = tables.alert_fingerprints
    rows = conn.execute(select(fp).where(fp.c.fingerprint.in_(fingerprints)).with_for_update()).all()
    return {r.fingerprint: {"last_alerted_at": r.last_alerted_at, "suppressed_count": r.suppressed_count,
                            "dirty": False} for r in rows}


def _save_throttle(conn: Connection, tables: Tables, throttle: dict[str, dict]) -> None:
    fp = tables.alert_fingerprints
    rows = [{"fingerprint": key, "last_alerted_at": v["last_alerted_at"], "suppressed_count": v["suppressed_count"]}
            for key, v in throttle.items() if v["dirty"]]
    if not rows:
        return
    if is_mysql(conn.dialect.name):
        stmt = mysql_insert(fp)
        stmt = stmt.on_duplicate_key_update(
            last_alerted_at=stmt.inserted.last_alerted_at, suppressed_count=stmt.inserted.suppressed_count
        )
    else:
        stmt = sqlite_insert(fp)
        stmt = stmt.on_conflict_do_update(
            index_elements=[fp.c.fingerprint],
            set_={"last_alerted_at": stmt.excluded.last_alerted_at, "suppressed_count": stmt.excluded.suppressed_count},
        )
    conn.execute(stmt, rows)


def _mark(conn: Connection, tables: Tables, failure_ids: list[int], state: str) -> None:
    ob = tables.alert_outbox
    for start in range(0, len(failure_ids), _IDS_PER_STATEMENT):
        chunk = failure_ids[start : start + _IDS_PER_STATEMENT]
        conn.execute(update(ob).where(ob.c.failure_id.in_(chunk)).values(state=state))


def _mark_alerted(conn: Connection, tables: Tables, failure_ids: list[int], alert_ids: dict[str, int]) -> None:
    """Every failure of an emailed group points at its alert: one UPDATE, the id chosen by group key."""
    if not failure_ids:
        return
    ob = tables.alert_outbox
    conn.execute(
        update(ob).where(ob.c.failure_id.in_(failure_ids))
        .values(state=ALERTED, alert_id=case(alert_ids, value=ob.c.group_key))
    )


def _alert_row(now: datetime, **values: Any) -> dict[str, Any]:
    # Recipients are resolved when the alert is sent (delivery), and recorded then: none yet.
    return {"recipients": "[]", "state": PENDING, "attempts": 0, "next_attempt_at": now,
            "created_at": now, "route": None, **values}


def _create_alerts(conn: Connection, tables: Tables, rows: list[dict[str, Any]]) -> dict[str | None, int]:
    """Insert alert rows in one statement (INSERT ... RETURNING: MariaDB >= 10.5, SQLite >= 3.35); their
    ids by group key, which is unique among a pass's alerts (a storm summary has none, and comes alone)."""
    if not rows:
        return {}
    a = tables.alerts
    return {key: id_ for id_, key in conn.execute(a.insert().returning(a.c.id, a.c.group_key), rows)}


def _summarize_held(conn: Connection, tables: Tables, settings: Settings, now: datetime) -> int:
    """One summary email per storm window names every failure held back by the cap (the caller saw some)."""
    a, ob = tables.alerts, tables.alert_outbox
    recent = conn.execute(
        select(func.count()).where(a.c.kind == "summary", a.c.created_at > now - STORM_WINDOW)
    ).scalar_one()
    if recent:
        return 0
    # Set-based: a storm holds thousands of failures, and reading them back only to list their ids
    # cost more than holding them. The count comes from what the UPDATE took.
    (alert_id,) = _create_alerts(conn, tables, [_alert_row(
        now, kind="summary", group_key=None, fingerprint=None, head_failure_id=None, failure_count=0,
        suppressed_count=0,
    )]).values()
    taken = conn.execute(
        update(ob).where(ob.c.state == HELD).values(state=SUMMARIZED, alert_id=alert_id)
    ).rowcount
    if not taken:  # another replica summarised them between our look and our update
        conn.execute(a.delete().where(a.c.id == alert_id))
        return 0
    conn.execute(update(a).where(a.c.id == alert_id).values(failure_count=taken))
    return 1


def _hold_for_retry(conn: Connection, tables: Tables, failure_ids: list[int], deadline: datetime) -> None:
    ob = tables.alert_outbox
    for start in range(0, len(failure_ids), _IDS_PER_STATEMENT):
        chunk = failure_ids[start : start + _IDS_PER_STATEMENT]
        conn.execute(update(ob).where(ob.c.failure_id.in_(chunk)).values(state=RETRYING, due_at=deadline))


_SETTLE_BATCH = 500


def settle_retries(conn: Connection, tables: Tables, now: datetime) -> int:
    """Held tries whose run has moved on: a later successful try recovers them (no alert: the digest lists
    them as recovered after retry); a later failed try supersedes them (that try's alert lists this one); a
    hold deadline that passes with no later try sends them on as alerts after all. Returns how many settled."""
    ob, f, r = tables.alert_outbox, tables.failures, tables.runs
    held = conn.execute(
        select(ob.c.failure_id, ob.c.group_key, ob.c.due_at).where(ob.c.state == RETRYING)
        .order_by(ob.c.due_at).limit(_SETTLE_BATCH).with_for_update(skip_locked=True)
    ).all()
    if not held:
        return 0
    tries = {row.id: row for row in conn.execute(
        select(f.c.id, f.c.platform, f.c.group_name, f.c.process_name, f.c.run_id, f.c.try_number)
        .where(f.c.id.in_([h.failure_id for h in held])))}
    run_ids = sorted({t.run_id for t in tries.values() if t.run_id})
    later: dict[tuple, list[tuple[int, str]]] = defaultdict(list)
    if run_ids:
        for row in conn.execute(
            select(r.c.platform, r.c.group_name, r.c.process_name, r.c.run_id, r.c.try_number, r.c.outcome)
            .where(r.c.run_id.in_(run_ids))
        ):
            later[(row.platform, row.group_name, row.process_name, row.run_id)].append((row.try_number or 0,
                                                                                      row.outcome))
    # A held group (one trace: the try and the steps inside it) is decided as one, by the members that know
    # their run: a step without run information must not be alerted for a try that recovered.
    groups: dict[str, list[Any]] = defaultdict(list)
    for row in held:
        groups[row.group_key].append(row)
    outcome: dict[str, list[int]] = defaultdict(list)
    for members in groups.values():
        seen: list[str] = []
        for member in members:
            t = tries.get(member.failure_id)
            if t is not None and t.run_id:
                seen += [o for n, o in later.get((t.platform, t.group_name, t.process_name, t.run_id), [])
                         if n > (t.try_number or 0)]
        ids = [m.failure_id for m in members]
        if "success" in seen:
            outcome[RECOVERED] += ids
        elif seen:
            outcome[SUPERSEDED] += ids
        elif max(m.due_at for m in members) <= now:
            outcome[NEW] += ids
    for state, ids in outcome.items():
        values = {"state": state} if state != NEW else {"state": NEW, "due_at": now, "will_retry": False}
        for start in range(0, len(ids), _IDS_PER_STATEMENT):
            conn.execute(update(ob).where(ob.c.failure_id.in_(ids[start : start + _IDS_PER_STATEMENT]),
                                          ob.c.state == RETRYING).values(**values))
    return sum(len(ids) for ids in outcome.values())


# Issues resolved longer ago than this are not looked at for recovery notices (an index range, not a scan).
RECOVERY_LOOKBACK = timedelta(days=7)


def announce_recoveries(conn: Connection, tables: Tables, now: datetime) -> int:
    """One recovery notice (an alert of kind ``recovery``) per fingerprint whose issue resolved after it was
    alerted; the alerts it answers point at it (``recovered_by``), so each is answered once. Delivery sends
    it to the targets that got those alerts, where their route asks for it (``send_resolved``)."""
    a, i = tables.alerts, tables.issues
    answered = conn.execute(
        select(a.c.id, a.c.fingerprint, a.c.head_failure_id, a.c.route)
        .join(i, i.c.fingerprint == a.c.fingerprint)
        .where(i.c.state == "resolved", i.c.state_changed_at > now - RECOVERY_LOOKBACK,
               a.c.kind == "failure", a.c.recovered_by.is_(None), a.c.state.in_(["sent", "failed"]),
               a.c.created_at <= i.c.state_changed_at)
        .order_by(a.c.id).with_for_update(skip_locked=True)
    ).all()
    by_fingerprint: dict[str, list[Any]] = defaultdict(list)
    for row in answered:
        by_fingerprint[row.fingerprint].append(row)
    if by_fingerprint:
        # An alert of the fingerprint still on its way (a channel retrying) would need a notice of its own
        # later: wait until it settles, so one notice answers them all.
        unsettled = set(conn.execute(
            select(a.c.fingerprint).join(i, i.c.fingerprint == a.c.fingerprint)
            .where(a.c.fingerprint.in_(list(by_fingerprint)), a.c.kind == "failure", a.c.recovered_by.is_(None),
                   a.c.state.in_(["pending", "sending", "unroutable"]), a.c.created_at <= i.c.state_changed_at)
        ).scalars())
        for fingerprint in unsettled:
            del by_fingerprint[fingerprint]
    for fingerprint, rows in by_fingerprint.items():
        latest = rows[-1]
        (notice_id,) = _create_alerts(conn, tables, [_alert_row(
            now, kind="recovery", group_key=None, fingerprint=fingerprint, head_failure_id=latest.head_failure_id,
            failure_count=len(rows), suppressed_count=0, route=latest.route)]).values()
        conn.execute(update(a).where(a.c.id.in_([r.id for r in rows])).values(recovered_by=notice_id))
    if by_fingerprint:
        # Resolved and announced: the next failure of the fingerprint (a regression) is news, not a repeat
        # within the repeat interval.
        fp = tables.alert_fingerprints
        conn.execute(fp.delete().where(fp.c.fingerprint.in_(list(by_fingerprint))))
    return len(by_fingerprint)
