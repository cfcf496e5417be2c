"""``otelmon issues``: the issues in the database (the API need not run), read as ``GET /api/v1/issues`` reads
them."""

from __future__ import annotations

import argparse

from otelmon.issues.lifecycle import STATES


def register(subparsers: argparse._SubParsersAction) -> None:
    cmd = subparsers.add_parser("issues", help="list issues: one per fingerprint, with its state",
                                description="Issues in OTELMON_DATABASE_URL, most recently failing first: new, "
                                "ongoing, resolved (a later run succeeded) or regressed (failing again since).")
    cmd.add_argument("--state", choices=STATES, help="only issues in this state")
    cmd.add_argument("--platform")
    cmd.add_argument("--group")
    cmd.add_argument("--process")
    cmd.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    cmd.set_defaults(func=_list)


def _list(args: argparse.Namespace) -> int:
    from otelmon.alerting.commands import open_database
    from otelmon.issues.storage import IssueFilter, list_issues

    opened = open_database()
    if opened is None:
        return 1
    engine, tables = opened
    flt = IssueFilter(state=args.state, platform=args.platform, group=args.group, process=args.process)
    try:
        with engine.connect() as conn:
            rows, more = list_issues(conn, tables, flt, max(args.limit, 1), None)
    finally:
        engine.dispose()
    if not rows:
        print("no issues")
    for row in rows:
        print(f"#{row.id} {row.state:<9} {row.platform} / {row.group_name} / {row.process_name}: "
              f"{row.error_type or 'Error'}")
        since = (f"failing since {row.failing_since:%Y-%m-%d %H:%M:%S}Z, {row.consecutive_failed_runs} failed "
                 f"run(s) in a row" if row.failing_since else f"resolved {row.resolved_at:%Y-%m-%d %H:%M:%S}Z")
        print(f"    {row.occurrences} occurrence(s), last {row.last_seen:%Y-%m-%d %H:%M:%S}Z, {since}")
    if more:
        print(f"(more: --limit {args.limit * 2})")
    return 0
