"""``otelmon notify check|test``: the receivers file, checked; a test message through one receiver."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path


def register(commands: argparse._SubParsersAction) -> None:
    notify = commands.add_parser("notify", help="receivers and routes (OTELMON_NOTIFY_CONFIG)")
    actions = notify.add_subparsers(dest="action", required=True)
    check = actions.add_parser(
        "check", help="validate the receivers file and print its receivers and routes, secrets masked",
        description="Exit status 2 with a one-line error naming the line and key when the file is invalid.")
    check.add_argument("file", nargs="?", type=Path, default=None,
                       help="the file to check (default OTELMON_NOTIFY_CONFIG; unset: the email settings)")
    check.set_defaults(func=_check)
    test = actions.add_parser(
        "test", help="send a test message through every integration of a receiver and print each result",
        description="Bypasses throttling and stores nothing. Exit status 1 when any integration did not deliver.")
    test.add_argument("receiver", help="the receiver's name (see `otelmon notify check`)")
    test.set_defaults(func=_test)


def _router(file: Path | None = None):  # noqa: ANN202 - imports stay inside: `otelmon --help` stays fast
    from otelmon.alerting.routing import Router
    from otelmon.config import get_settings

    settings = get_settings()
    if file is not None:
        settings = settings.model_copy(update={"notify_config": file})
    return settings, Router.from_settings(settings)


def _check(args: argparse.Namespace) -> int:
    import yaml

    _, router = _router(args.file)
    described = router.describe()
    print(f"receivers and routes from {described.pop('source')}: valid (secrets shown masked)")
    print(yaml.safe_dump(described, sort_keys=False, allow_unicode=True), end="")
    for warning in router.warnings():
        print(f"warning: {warning}")
    return 0


def _test(args: argparse.Namespace) -> int:
    import sys

    from otelmon.alerting.notifiers import Notifiers
    from otelmon.alerting.trial import UnknownReceiver, send_test

    settings, router = _router()

    async def run() -> list:
        notifiers = Notifiers(settings, router)
        try:
            return await send_test(notifiers, args.receiver)
        finally:
            await notifiers.aclose()

    try:
        results = asyncio.run(run())
    except UnknownReceiver as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not results:
        print(f"receiver {args.receiver} has no integrations")
        return 1
    for result in results:
        detail = f": {result.detail}" if result.detail else ""
        print(f"{result.integration}[{result.target}] {result.outcome}{detail}")
    return 0 if all(r.outcome == "delivered" for r in results) else 1
