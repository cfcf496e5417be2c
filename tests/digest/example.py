"""The example digest in docs/: realistic failures of one day, rendered by the real templates.

    .venv/bin/python -m tests.digest.example docs/digest-example.html

(test_example.py checks that the committed file is what the templates make today.)
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

from otelmon.config import Settings
from otelmon.digest.compose import ComposedDigest, compose_digest

NOW = datetime(2026, 11, 22, 7, 0, 0)
WINDOW = timedelta(hours=24)
SETTINGS = Settings(grafana_url="https://grafana.example.com", smtp_mail_from="otelmon@example.com")
DOCS_HTML = Path(__file__).resolve().parents[2] / "docs" / "digest-example.html"

# (platform, group, process, run id, error type, message, ended hours ago, seconds run, immediate alert)
FAILURES = [
    ("airflow", "billing_daily", "load_ledger", "scheduled__2026-11-21T02:00:00+00:00",
     "psycopg2.errors.UniqueViolation",
     'duplicate key value violates unique constraint "ledger_pkey"\nDETAIL: Key (invoice_id)=(INV-20931) already '
     "exists.", 4.9, 312.4, "alerted"),
    ("airflow", "billing_daily", "extract_invoices", "scheduled__2026-11-21T02:00:00+00:00", "TimeoutError",
     "SAP OData endpoint did not answer within 120 s (GET /sap/opu/odata/sap/API_BILLING_DOCUMENT_SRV)",
     5.2, 121.7, "alerted"),
    ("airflow", "billing_daily", "extract_invoices", "scheduled__2026-11-20T02:00:00+00:00", "TimeoutError",
     "SAP OData endpoint did not answer within 120 s (GET /sap/opu/odata/sap/API_BILLING_DOCUMENT_SRV)",
     23.1, 120.9, "suppressed"),
    *[("airflow", "crm_sync", "push_contacts", f"scheduled__2026-11-21T{h:02d}:00:00+00:00",
       "requests.exceptions.HTTPError",
       "429 Client Error: Too Many Requests for url: https://api.crm.example.com/v2/contacts/batch "
       "(Retry-After: 60)", hours, 8.2 + hours, state)
      for h, hours, state in [(6, 0.8, "suppressed"), (5, 1.8, "suppressed"), (4, 2.8, "suppressed"),
                              (3, 3.8, "suppressed"), (2, 4.8, "alerted"), (1, 5.8, "suppressed"),
                              (0, 6.8, "suppressed")]],
    ("airflow", "ml_features", "train_churn_model[3]", "manual__2026-11-21T15:12:40+00:00", "MemoryError",
     "Unable to allocate 14.2 GiB for an array with shape (1912000, 1000) and data type float64",
     15.6, 2893.0, "alerted"),
    ("nifi", "ingest_orders", "PutDatabaseRecord", None, "java.sql.SQLTransientConnectionException",
     "HikariPool-1 - Connection is not available, request timed out after 30000ms.", 9.4, 30.0, "alerted"),
    ("nifi", "ingest_orders", "ValidateRecord", None, "org.apache.nifi.processor.exception.ProcessException",
     "Record 1829 invalid: field 'amount' = \"12,50\" is not a valid decimal <in schema orders-v3>",
     12.1, 0.4, "held"),
    ("nifi", "partner_feeds", "FetchSFTP", None, "java.net.ConnectException",
     "Connection refused (sftp.partner-a.example:22)", 18.3, 5.0, "alerted"),
]


def rows() -> list[SimpleNamespace]:
    made = []
    for n, (platform, group, process, run_id, error_type, message, hours, seconds, state) in enumerate(FAILURES, 1):
        end = NOW - timedelta(hours=hours)
        values = {
            "id": 5000 + n, "fingerprint": f"{n:016x}", "platform": platform, "group_name": group,
            "process_name": process, "run_id": run_id, "try_number": 1 if run_id else None,
            "trace_id": f"{n:02x}" * 16, "host": None, "error_type": error_type, "error_message": message,
            "start_time": end - timedelta(seconds=seconds), "end_time": end, "alert_state": state,
        }
        made.append(SimpleNamespace(**values, _mapping=values))
    return sorted(made, key=lambda r: (r.end_time, r.id), reverse=True)  # as the query returns them


def compose() -> ComposedDigest:
    return compose_digest(rows(), SETTINGS, digest_id=412, recipients=["data-team@example.com"],
                          window_start=NOW - WINDOW, window_end=NOW, window=WINDOW, row_limit=10)


def main(argv: list[str]) -> int:
    target = Path(argv[1]) if len(argv) > 1 else DOCS_HTML
    target.write_text(compose().html, encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
