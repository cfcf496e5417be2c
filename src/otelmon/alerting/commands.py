"""``otelmon alerts list|resend|cancel``: the alert history and the two actions, straight on the database
(the API need not run), through the same functions as ``/api/v1/alerts``."""

from __future__ import annotations

import argparse
import json
import sys

from sqlalchemy.exc import InvalidRequestError, OperationalError


def register(subparsers: argparse._SubParsersAction) -> None:
    cmd = subparsers.add_parser("alerts", help="list alerts; resend or cancel one",
                                description="Alerts in OTELMON_DATABASE_URL. Changes take effect within a poll "
                                "interval of a running API (OTELMON_ALERT_POLL_SECONDS).")
    actions = cmd.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="alerts, newest first, with why each waits")
    listing.add_argument("--state", choices=_states(), help="only alerts in this state")
    listing.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    listing.set_defaults(func=_list)
    for name, text in (("resend", "send again: a sent, failed, unroutable or cancelled alert goes back to pending"),
                       ("cancel", "never send: a pending, failed or unroutable alert becomes cancelled")):
        action = actions.add_parser(name, help=text, description=text)
        action.add_argument("alert_id", type=int, metavar="ID")
        action.set_defaults(func=_transition)


def _states() -> tuple[str, ...]:
    from otelmon.alerting.delivery import STATES

    return STATES


def open_database():
    """The engine and tables of the configured database, said aloud; None (and a message) if it has none.
    Shared by the commands that read the database directly (``otelmon issues`` too)."""
    from otelmon.config import get_settings
    from otelmon.storage.database import create_db_engine
    from otelmon.storage.location import describe, missing_sqlite_file
    from otelmon.storage.tables import Tables

    settings = get_settings()
    print(f"database: {describe(settings.database_url)}")
    # Reading must not create an empty SQLite file where the user expected their database.
    missing = missing_sqlite_file(settings.database_url)
    if missing is not None:
        print(f"error: no database at {missing} (set OTELMON_DATABASE_URL)", file=sys.stderr)
        return None
    engine = create_db_engine(settings)
    try:
        return engine, Tables.reflect(engine)
    except InvalidRequestError:  # the tables are missing
        problem = "this database has no OtelMon schema (run `otelmon migrate` or start the API)"
    except OperationalError as exc:
        problem = f"cannot reach the database: {exc.orig}"
    engine.dispose()
    print(f"error: {problem}", file=sys.stderr)
    return None




def _list(args: argparse.Namespace) -> int:
    from otelmon.alerting.history import read_history

    opened = open_database()
    if opened is None:
        return 1
    engine, tables = opened
    try:
        history = read_history(engine, tables, args.state, max(args.limit, 1), None)
    finally:
        engine.dispose()
    counts = ", ".join(f"{state} {n}" for state, n in sorted(history.alerts_by_state.items())) or "none"
    print(f"alerts: {counts}")
    for row in history.rows[: max(args.limit, 1)]:
        sent_to = json.loads(row.recipients)
        line = f"#{row.id} {row.state:<10} {row.kind:<7} tries {row.attempts}  {row.created_at:%Y-%m-%d %H:%M:%S}Z"
        print(f"{line}  {row.subject or ''}".rstrip())
        if sent_to:
            print(f"    sent to: {', '.join(sent_to)}")
        deliveries = history.deliveries.get(row.id, [])
        if len(deliveries) > 1 or any(d.integration != "email" for d in deliveries):
            for d in deliveries:  # one line per target: which channel is in trouble
                why = f": {d.last_error}" if d.last_error and d.state != "sent" else ""
                print(f"    {d.integration}[{d.target}] to {d.receiver}: {d.state}, tries {d.attempts}{why}")
        elif row.last_error and row.state != "sent":
            print(f"    {row.last_error}")
    return 0


def _transition(args: argparse.Namespace) -> int:
    from otelmon.alerting import admin

    opened = open_database()
    if opened is None:
        return 1
    engine, tables = opened
    action = admin.resend if args.action == "resend" else admin.cancel
    try:
        row = action(engine, tables, args.alert_id)
    except (admin.AlertNotFound, admin.InvalidTransition) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(f"alert #{row.id} is {row.state} now")
    return 0
