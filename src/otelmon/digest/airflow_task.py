"""The digest as the Airflow DAG ``failed_process_alert`` runs it (airflow/dags/failed_process_alert_dag.py).

Imported only inside an Airflow task: everything Airflow-specific is here, so the DAG file stays a few lines.
What a run reads, first found wins:
- recipients: the run's conf ``recipients``, the Variable ``otelmon_digest_recipients``, then the
  environment (``OTELMON_DIGEST_RECIPIENTS``, else ``OTELMON_ALERT_RECIPIENTS``);
- window: the run's conf ``window``, the Variable ``otelmon_digest_window`` (``24h``, ``90m``), then
  ``OTELMON_DIGEST_WINDOW_HOURS``;
- database: the connection ``otelmon_db`` (e.g. ``AIRFLOW_CONN_OTELMON_DB=mysql://user:pw@host:3306/otelmon``),
  else ``OTELMON_DATABASE_URL``;
- SMTP: the ``OTELMON_SMTP_*`` variables (and the seed's ``SMTP_USER``/``SMTP_PASSWORD``/``SMTP_MAIL_FROM``).
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.engine import URL

from otelmon.config import Settings, _split_addresses, get_settings
from otelmon.digest.options import parse_window, resolve_options
from otelmon.digest.run import run_digest
from otelmon.storage.database import create_db_engine

log = logging.getLogger(__name__)

CONNECTION_ID = "otelmon_db"
RECIPIENTS_VARIABLE = "otelmon_digest_recipients"
WINDOW_VARIABLE = "otelmon_digest_window"
_MYSQL_TYPES = ("mysql", "mariadb")


def connection_url(conn_type: str, host: str | None, login: str | None, password: str | None, port: int | None,
                   schema: str | None) -> str:
    """An Airflow connection's parts as the SQLAlchemy URL OtelMon's storage expects."""
    kind = (conn_type or "").lower().replace("-", "_")
    if kind.startswith(_MYSQL_TYPES):
        url = URL.create("mysql+pymysql", username=login or None, password=password or None, host=host or None,
                         port=port or 3306, database=schema or None)
        return url.render_as_string(hide_password=False)
    if kind == "sqlite":
        return f"sqlite:///{host or schema}"
    raise ValueError(f"connection {CONNECTION_ID!r} has type {conn_type!r}: use mysql (MariaDB) or sqlite")


def database_url(settings: Settings) -> str:
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = Connection.get(CONNECTION_ID)
    except AirflowNotFoundException:
        log.info("no Airflow connection %r: using OTELMON_DATABASE_URL", CONNECTION_ID)
        return settings.database_url
    return connection_url(conn.conn_type, conn.host, conn.login, conn.password, conn.port, conn.schema)


def _first(*values: Any) -> Any:
    return next((v for v in values if v not in (None, "")), None)


def run(params: dict[str, Any] | None = None) -> dict[str, Any]:
    """The task's body. Raises (so Airflow retries) when an email could not be sent."""
    from airflow.sdk import Variable, get_current_context

    params = params or {}
    ti = get_current_context()["ti"]
    settings = get_settings()
    recipients = _first(params.get("recipients"), Variable.get(RECIPIENTS_VARIABLE, default=None))
    window = _first(params.get("window"), Variable.get(WINDOW_VARIABLE, default=None))
    options = resolve_options(
        settings,
        recipients=_split_addresses(recipients) if recipients else None,
        window=parse_window(str(window)) if window else None,
    )
    engine = create_db_engine(settings.model_copy(update={"database_url": database_url(settings)}))
    try:
        # Every try of one DAG run is the same owner: a retry after a killed try (a worker lost mid-send)
        # resends its digest at once, instead of waiting for the lease that keeps other runs off it. A
        # failed send needs no such name: it leaves the digest to whichever run comes next.
        result = run_digest(engine, settings, options, owner=f"airflow:{ti.dag_id}:{ti.run_id}")
    finally:
        engine.dispose()
    summary = result.summary()
    log.info("digest run: %s", summary)
    return summary
