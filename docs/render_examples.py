"""Render the example emails in docs/ with the real pipeline: store failures, dispatch, compose.

    .venv/bin/python docs/render_examples.py      # writes docs/alert-example.{html,txt,eml}
    (then, for the pictures) chromium --headless --screenshot=docs/alert-example.png docs/alert-example.html
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from unittest import mock

from otelmon.alerting import delivery
from otelmon.alerting.dispatch import dispatch_due
from otelmon.alerting.outbox import enqueue_created
from otelmon.clock import utcnow
from otelmon.config import Settings
from otelmon.failures.model import Failure
from otelmon.ingest import FailureIngestor
from otelmon.storage.database import create_db_engine
from otelmon.storage.migrate import migrate
from otelmon.storage.tables import Tables

DOCS = Path(__file__).resolve().parent
# The action links (mute, acknowledge) are signed with the installation's key and expire a few days after they
# are made: a fixed key and moment keep the example the same on every run.
EXAMPLE_KEY = "example-key-for-the-docs-not-a-secret"
LINKS_MADE_AT = datetime(2026, 11, 22, 6, 3, 26)
STACK = """Traceback (most recent call last):
  File "/opt/airflow/dags/daily_sales.py", line 88, in load
    rows = warehouse.insert_many("sales_daily", batch)
  File "/opt/airflow/plugins/warehouse.py", line 41, in insert_many
    cursor.executemany(sql, rows)
  File "/usr/local/lib/python3.11/site-packages/pymysql/cursors.py", line 173, in executemany
    return self._do_execute_many(q_prefix, q_values, q_postfix, args, self.max_stmt_length)
pymysql.err.IntegrityError: (1062, "Duplicate entry '2026-11-21-EU-0042' for key 'uq_sales_day'")"""


def _failure(process: str, span: str, parent: str | None, start: datetime, seconds: float, **extra) -> Failure:
    return Failure(platform="airflow", group="daily_sales", process=process, span_name=process, start_time=start,
                   end_time=start + timedelta(seconds=seconds), run_id="scheduled__2026-11-22T06:00:00+00:00",
                   try_number=2, trace_id="4bf92f3577b34da6a3ce929d0e0e4736", span_id=span, parent_span_id=parent,
                   host="airflow-worker-2", **extra)


def main(out: Path = DOCS) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(database_url=f"sqlite:///{tmp}/example.db", alert_recipients=["data-team@example.com"],
                            display_timezone="Europe/Berlin", alert_group_wait_seconds=0,
                            smtp_mail_from="otelmon@example.com", secret_key=EXAMPLE_KEY)
        engine = create_db_engine(settings)
        migrate(engine)
        tables = Tables.reflect(engine)
        ingest = FailureIngestor(engine, tables, enqueue_created(tables, 0))
        start = datetime(2026, 11, 22, 6, 2, 11, 482000)
        ingest.store([
            _failure("load", "00f067aa0ba902b7", None, start, 74.3, error_type="pymysql.err.IntegrityError",
                     error_message="(1062, \"Duplicate entry '2026-11-21-EU-0042' for key 'uq_sales_day'\")",
                     stacktrace=STACK),
            _failure("load.insert_batch", "1a2b3c4d5e6f7081", "00f067aa0ba902b7", start + timedelta(seconds=70), 4.1,
                     error_type="pymysql.err.IntegrityError", error_message="Duplicate entry '2026-11-21-EU-0042'"),
        ])
        dispatch_due(engine, tables, settings, utcnow())
        with mock.patch("otelmon.actions.links.utcnow", return_value=LINKS_MADE_AT):
            (claimed,) = delivery.claim(engine, tables, settings, utcnow())
        message = message_from_bytes(claimed.message.data, policy=policy.default)
        (out / "alert-example.eml").write_bytes(claimed.message.data)
        (out / "alert-example.html").write_text(message.get_body(("html",)).get_content(), encoding="utf-8")
        (out / "alert-example.txt").write_text(message.get_body(("plain",)).get_content(), encoding="utf-8")
        print(f"subject: {claimed.message.subject}\nsize: {claimed.message.size} bytes")
        engine.dispose()


if __name__ == "__main__":
    main()
