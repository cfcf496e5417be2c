"""Observing MariaDB lock waits, so a test can act once a run is provably blocked (no guessing with sleeps)."""

from __future__ import annotations

from tests.harness.mariadb import MariaDBServer
from tests.harness.waiting import wait_until

# InnoDB refreshes the cache behind information_schema.INNODB_TRX only when it has not been read for
# 0.1 s (CACHE_MIN_IDLE_TIME_US in trx0i_s.cc): polled faster, it keeps showing the first snapshot and a
# transaction that started waiting afterwards never appears.
_POLL_SECONDS = 0.25


def lock_waits(server: MariaDBServer) -> int:
    with server.admin() as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'")
        return cur.fetchone()[0]


def wait_for_lock_waits(server: MariaDBServer, count: int, timeout: float, what: str) -> int:
    return wait_until(lambda: lock_waits(server) >= count, timeout, interval=_POLL_SECONDS, what=what)
