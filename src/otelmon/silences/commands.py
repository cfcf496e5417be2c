"""``otelmon silence add|list|expire``: silences straight on the database (the API need not run), through the
same functions as ``/api/v1/silences``. A running API applies them from its next dispatch pass."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime

from otelmon.silences.model import MATCHER_KEYS, Silence


def register(subparsers: argparse._SubParsersAction) -> None:
    cmd = subparsers.add_parser("silence", help="add, list or expire silences",
                                description="Silences in OTELMON_DATABASE_URL: matching failures are stored and "
                                "shown (silenced), never notified.")
    actions = cmd.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="silence failures matching every --match, for a while",
                             description="Example: otelmon silence add --match group='billing_*' --for 24h "
                             "--comment 'migration running' --author alice")
    add.add_argument("--match", action="append", required=True, metavar="KEY=GLOB",
                     help=f"KEY is one of {', '.join(MATCHER_KEYS)}; repeat for several (all must match)")
    end = add.add_mutually_exclusive_group(required=True)
    end.add_argument("--for", dest="duration", metavar="DURATION", help="how long: 30m, 24h, 7d, 1h30m")
    end.add_argument("--until", metavar="TIME", help="end, ISO 8601 (UTC without a zone)")
    add.add_argument("--start", metavar="TIME", help="start, ISO 8601 (default now)")
    add.add_argument("--comment", required=True, help="why")
    add.add_argument("--author", required=True, help="who")
    add.set_defaults(func=_add)
    listing = actions.add_parser("list", help="silences, newest first")
    listing.add_argument("--state", choices=("active", "expired", "all"), default="active",
                         help="active (default): in effect now or later; expired: over; all")
    listing.add_argument("--limit", type=int, default=50, help="how many (default 50)")
    listing.set_defaults(func=_list)
    expire = actions.add_parser("expire", help="end a silence now")
    expire.add_argument("silence_id", type=int, metavar="ID")
    expire.set_defaults(func=_expire)


def describe(silence: Silence, now: datetime) -> str:
    matchers = " ".join(f"{k}={v}" for k, v in silence.matchers.items())
    until = f"until {silence.ends_at:%Y-%m-%d %H:%M:%S}Z" if silence.ends_at else "until resolved (ack)"
    ended = f", expired {silence.expired_at:%Y-%m-%d %H:%M:%S}Z" if silence.expired_at else ""
    return (f"#{silence.id} {silence.status(now):<8} {matchers}  from {silence.starts_at:%Y-%m-%d %H:%M:%S}Z "
            f"{until}{ended}  by {silence.created_by}: {silence.comment}")


def _add(args: argparse.Namespace) -> int:
    from otelmon.alerting.commands import open_database
    from otelmon.clock import utcnow
    from otelmon.silences import store
    from otelmon.silences.model import check_note, check_window, parse_matcher, parse_time

    try:
        matchers = dict(parse_matcher(m) for m in args.match)
        now = utcnow()
        starts, ends = check_window(parse_time(args.start), parse_time(args.until), args.duration, now)
        comment, author = check_note(args.comment, args.author)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    opened = open_database()
    if opened is None:
        return 1
    engine, tables = opened
    try:
        with engine.begin() as conn:
            silence = store.create(conn, tables, matchers=matchers, starts_at=starts, ends_at=ends,
                                   comment=comment, created_by=author, now=now)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    print(f"created silence {describe(silence, now)}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from otelmon.alerting.commands import open_database
    from otelmon.clock import utcnow
    from otelmon.silences import store

    opened = open_database()
    if opened is None:
        return 1
    engine, tables = opened
    now = utcnow()
    try:
        with engine.connect() as conn:
            silences = store.list_silences(conn, tables, args.state, now, max(args.limit, 1))
    finally:
        engine.dispose()
    if not silences:
        print(f"no {args.state if args.state != 'all' else ''} silences".replace("  ", " "))
    for silence in silences[: max(args.limit, 1)]:
        print(describe(silence, now))
    return 0


def _expire(args: argparse.Namespace) -> int:
    from otelmon.alerting.commands import open_database
    from otelmon.clock import utcnow
    from otelmon.silences import store

    opened = open_database()
    if opened is None:
        return 1
    engine, tables = opened
    now = utcnow()
    try:
        with engine.begin() as conn:
            silence = store.expire(conn, tables, args.silence_id, now)
    except (store.SilenceNotFound, store.AlreadyExpired) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(f"expired silence {describe(silence, now)}")
    return 0
