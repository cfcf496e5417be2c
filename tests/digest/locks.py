"""Observing MariaDB lock waits, so a test can act once a run is provably blocked (no guessing with sleeps)."""

from __future__ import annotations

from tests.harness.mariadb import MariaDBServer


def lock_waits(server: MariaDBServer) -> int:
    with server.admin() as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'")
        return cur.fetchone()[0]
