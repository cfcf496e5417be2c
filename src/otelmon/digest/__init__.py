"""The digest: every failure of the last 24 h (configurable) that no earlier digest reported, in one email.

Claim, send, record (``run.run_digest``): a run claims the unreported failures under a new digest id and
stores the complete message with them in one transaction, sends it, then marks the digest sent. A claimed
but unsent digest (a crash, an SMTP error) is resent, byte for byte with its Message-ID, before anything
new is claimed. The ``otelmon digest`` command and the Airflow DAG ``failed_process_alert`` drive it.
"""
