"""The ``otelmon`` command line: thin wrappers around the package."""

from __future__ import annotations

import argparse
import logging
import sys
from importlib.metadata import PackageNotFoundError, version
from urllib.parse import urlsplit

log = logging.getLogger("otelmon.cli")


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from otelmon.alerting.routing import Router
    from otelmon.api.app import create_app
    from otelmon.config import get_settings
    from otelmon.storage.location import describe

    settings = get_settings()
    Router.from_settings(settings)  # a receivers file that cannot be used stops start-up with its one line
    level = (args.log_level or settings.log_level).lower()
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log.info("database: %s", describe(settings.database_url))
    uvicorn.run(
        create_app(settings),
        # Behind a proxy that serves the API under a path (the `proxy` profile's /api/), OTELMON_PUBLIC_URL
        # names that path: the console's and /docs' links carry it, and a request without it still routes.
        root_path=urlsplit(settings.public_url).path,
        host=args.host,
        port=args.port,
        log_level=level,
        timeout_keep_alive=30,
        # Headers must arrive within a deadline (uvicorn has none); h11 bounds their size (16 KiB).
        http="otelmon.api.http_protocol:H11WithHeaderDeadline",
        h11_max_incomplete_event_size=16 * 1024,
        # A stalled client must not hold up a restart: open requests get this long, then are cancelled.
        timeout_graceful_shutdown=5,
        # Past this many open requests new ones get 503 rather than queueing without bound.
        limit_concurrency=args.limit_concurrency,
        access_log=args.access_log,
    )
    return 0


def _migrate(_args: argparse.Namespace) -> int:
    from otelmon.config import get_settings
    from otelmon.storage.database import create_db_engine
    from otelmon.storage.location import describe
    from otelmon.storage.migrate import migrate

    logging.basicConfig(level=logging.INFO)
    settings = get_settings()
    print(f"database: {describe(settings.database_url)}")
    engine = create_db_engine(settings)
    try:
        applied = migrate(engine)
    finally:
        engine.dispose()
    print("applied: " + (", ".join(applied) if applied else "nothing, schema up to date"))
    return 0


def _send_test_failure(args: argparse.Namespace) -> int:
    from otelmon.config import get_settings
    from otelmon.test_failure import send_test_failure, token_for

    configured = get_settings().ingest_token
    token = token_for(args.endpoint, args.token, configured.get_secret_value() if configured else None)
    try:
        sent = send_test_failure(args.endpoint, token, group=args.group, process=args.process)
    except ConnectionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"sent a failing span: trace {sent.trace_id}, run {sent.run_id}")
    print(f"error type {sent.error_type}: a fingerprint of its own, so throttling never holds its email back")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="otelmon", description="Failure alerts and digests for data pipelines")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the API (OTLP receiver, failure API, alerts)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback only)")
    serve.add_argument("--port", type=int, default=8090)
    serve.add_argument("--log-level", default=None, help="debug, info, warning, error (default OTELMON_LOG_LEVEL)")
    serve.add_argument("--limit-concurrency", type=int, default=200)
    serve.add_argument("--access-log", action=argparse.BooleanOptionalAction, default=False)
    serve.set_defaults(func=_serve)

    mig = commands.add_parser("migrate", help="apply the schema in sql/migrations to OTELMON_DATABASE_URL")
    mig.set_defaults(func=_migrate)

    from otelmon.test_failure import default_endpoint

    test = commands.add_parser("send-test-failure", help="send one failing span to an OTLP/HTTP endpoint")
    test.add_argument(
        "--endpoint",
        default=default_endpoint(),
        help="OTLP/HTTP base URL: the collector (default $OTEL_EXPORTER_OTLP_ENDPOINT or "
        "http://localhost:4318) or the OtelMon API itself (http://localhost:8090)",
    )
    test.add_argument(
        "--token",
        help="bearer token, when sending to the API directly (default: OTELMON_INGEST_TOKEN from the "
        "environment or .env, sent only to a loopback address)",
    )
    test.add_argument("--group", default="otelmon_smoke_test")
    test.add_argument("--process", default="send_test_failure")
    test.set_defaults(func=_send_test_failure)

    from otelmon.alerting.notify_commands import register as register_notify

    register_notify(commands)
    from otelmon.digest.command import register as register_digest

    register_digest(commands)
    from otelmon.alerting.commands import register as register_alerts
    register_alerts(commands)
    from otelmon.silences.commands import register as register_silences

    register_silences(commands)
    from otelmon.issues.command import register as register_issues

    register_issues(commands)
    return parser


def _version() -> str:
    try:
        return version("otelmon")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    from sqlalchemy.exc import OperationalError

    from otelmon.config import ConfigurationError, get_settings
    from otelmon.storage.location import describe

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigurationError as exc:
        # One line naming the variable, no traceback: the user fixes .env or the environment.
        print(f"otelmon: configuration error: {exc}", file=sys.stderr)
        return 2
    except OperationalError as exc:
        print(f"otelmon: cannot use the database ({describe(get_settings().database_url)}): {exc.orig}",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
