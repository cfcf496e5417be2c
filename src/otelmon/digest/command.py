"""``otelmon digest``: send the digest now, or show with ``--dry-run`` what it would send."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    cmd = subparsers.add_parser(
        "digest",
        help="email every failure of the window that no earlier digest reported",
        description="Resend any digest claimed but not sent, then claim the new failures and send one digest. "
        "No new failures: no email, exit 0. Exit 1 when an email could not be sent (it is resent next time).",
    )
    cmd.add_argument("--dry-run", action="store_true", help="print what would be sent; change and send nothing")
    cmd.add_argument("--html-out", type=Path, help="with --dry-run: write the HTML part to this file")
    cmd.add_argument("--window", help="how far back, e.g. 24h, 90m, 2d (default OTELMON_DIGEST_WINDOW_HOURS)")
    cmd.add_argument("--recipients", help="comma-separated addresses (default OTELMON_DIGEST_RECIPIENTS)")
    cmd.add_argument("--row-limit", type=int, help="failures listed one by one (default OTELMON_DIGEST_ROW_LIMIT)")
    cmd.add_argument("--owner", help="a stable name for this run: after a crash, a retry under the same name "
                     "resends its digest at once instead of waiting for the crashed run's lease to expire")
    cmd.set_defaults(func=_digest)


def _digest(args: argparse.Namespace) -> int:
    from otelmon.config import _split_addresses, get_settings
    from otelmon.digest.options import parse_window, resolve_options
    from otelmon.digest.run import NoRecipients, SchemaNotReady, default_owner, preview, run_digest
    from otelmon.digest.send import DigestSendError
    from otelmon.storage.database import create_db_engine
    from otelmon.storage.location import describe, missing_sqlite_file

    settings = get_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.html_out and not args.dry_run:
        raise SystemExit("--html-out goes with --dry-run")
    try:
        window = parse_window(args.window) if args.window else None
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    options = resolve_options(settings, recipients=_split_addresses(args.recipients) if args.recipients else None,
                              window=window, row_limit=args.row_limit)
    print(f"database: {describe(settings.database_url)}")
    missing = missing_sqlite_file(settings.database_url) if args.dry_run else None
    if missing is not None:
        # Connecting would create the file: a preview must leave the directory as it found it.
        print(f"error: no database at {missing}: nothing was ever stored there. Run in the directory "
              "where `otelmon serve` runs, or set OTELMON_DATABASE_URL.")
        return 1
    engine = create_db_engine(settings)
    try:
        if args.dry_run:
            try:
                return _print_preview(*preview(engine, settings, options), options, args.html_out)
            except SchemaNotReady as exc:
                print(f"error: {exc}")
                return 1
        try:
            result = run_digest(engine, settings, options, owner=args.owner or default_owner())
        except NoRecipients as exc:
            raise SystemExit(str(exc)) from None
        except DigestSendError as exc:
            print(f"error: {exc}")
            return 1
    finally:
        engine.dispose()
    for sent in result.resent:
        print(f"resent digest #{sent.digest_id} ({sent.failure_count} failures, {sent.message_id})")
    for digest_id in result.busy:
        print(f"digest #{digest_id} is being sent by another run; left to it")
    if result.sent:
        print(f"sent digest #{result.sent.digest_id}: {result.sent.failure_count} failures to "
              f"{', '.join(options.recipients)} ({result.sent.message_id})")
    else:
        print("no new failures: nothing to send")
    return 0


def _print_preview(unsent, claim, options, html_out: Path | None) -> int:
    for row in unsent:
        print(f"would first resend digest #{row.id} ({row.failure_count} failures, claimed but not sent)")
    if claim is None:
        print(f"no new failures in the last {options.window}: nothing to send")
        return 0
    print(f"would send: {claim.composed.email.subject}")
    print(f"to: {', '.join(options.recipients) or '(no recipients configured)'}")
    print(f"size: {claim.composed.size} bytes, {claim.composed.context['listed']} of "
          f"{len(claim.failure_ids)} failures listed")
    print()
    print(claim.composed.text)
    if html_out:
        html_out.write_text(claim.composed.html, encoding="utf-8")
        print(f"HTML written to {html_out}")
    return 0

