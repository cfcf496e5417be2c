"""The ``otelmon`` command line: thin wrappers around the package."""

from __future__ import annotations

import argparse
import logging
import sys


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from otelmon.api.app import create_app
    from otelmon.config import get_settings

    settings = get_settings()
    level = (args.log_level or settings.log_level).lower()
    logging.basicConfig(level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_level=level,
        timeout_keep_alive=30,
        # Past this many open requests new ones get 503 rather than queueing without bound.
        limit_concurrency=args.limit_concurrency,
        access_log=args.access_log,
    )
    return 0


def _migrate(_args: argparse.Namespace) -> int:
    from otelmon.config import get_settings
    from otelmon.storage.database import create_db_engine
    from otelmon.storage.migrate import migrate

    logging.basicConfig(level=logging.INFO)
    engine = create_db_engine(get_settings())
    try:
        applied = migrate(engine)
    finally:
        engine.dispose()
    print("applied: " + (", ".join(applied) if applied else "nothing, schema up to date"))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="otelmon", description="Failure alerts and digests for data pipelines")
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
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
