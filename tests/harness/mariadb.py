"""A private MariaDB server (Debian's ``mariadb-server``) in a temporary directory, on loopback.

Each instance has its own data directory and port, so a test may stop, kill and restart it without
touching any other database on the machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pymysql
from sqlalchemy import create_engine

from otelmon.storage.migrate import migrate
from tests.harness.ports import free_port
from tests.harness.waiting import wait_until_serving

USER = "otelmon_test"
PASSWORD = "otelmon-test-only"  # a throwaway server on loopback, created and deleted by the tests


def _binary(name: str) -> str:
    path = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if path is None:
        raise RuntimeError(f"{name} not found: install Debian's mariadb-server (scripts/test.sh does)")
    return path


class MariaDBServer:
    def __init__(self, base_dir: Path, port: int | None = None) -> None:
        self.base_dir = Path(base_dir)
        self.datadir = self.base_dir / "data"
        self.socket = self.base_dir / "mysqld.sock"
        self.log = self.base_dir / "error.log"
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, timeout: float = 60) -> MariaDBServer:
        fresh = not self.datadir.exists()
        if fresh:
            self.datadir.mkdir(parents=True)
            subprocess.run(
                [
                    _binary("mariadb-install-db"),
                    "--no-defaults",
                    f"--datadir={self.datadir}",
                    "--auth-root-authentication-method=normal",
                    "--skip-test-db",
                    *self._user_args(),
                ],
                check=True,
                capture_output=True,
                timeout=120,
            )
        self.process = subprocess.Popen(
            [
                _binary("mariadbd"),
                "--no-defaults",
                f"--datadir={self.datadir}",
                f"--socket={self.socket}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                f"--pid-file={self.base_dir / 'mysqld.pid'}",
                f"--log-error={self.log}",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=256M",
                "--max-connections=300",
                "--character-set-server=utf8mb4",
                "--default-time-zone=+00:00",
                *self._user_args(),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait_ready(timeout)
        if fresh:
            self._create_user()
        return self

    def stop(self, timeout: float = 60) -> None:
        """Clean shutdown (SIGTERM), as a restart of the database service would do."""
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout)
        self.process = None

    def kill(self) -> None:
        """Crash the server (SIGKILL): connections drop without goodbye."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)
        self.process = None

    def remove(self) -> None:
        self.kill()
        shutil.rmtree(self.base_dir, ignore_errors=True)

    # -- use -------------------------------------------------------------------------------
    def url(self, database: str, driver: str = "mysql+pymysql") -> str:
        return f"{driver}://{USER}:{PASSWORD}@127.0.0.1:{self.port}/{database}"

    def admin(self) -> pymysql.connections.Connection:
        return pymysql.connect(unix_socket=str(self.socket), user="root", autocommit=True, connect_timeout=5)

    def create_database(self, name: str) -> str:
        with self.admin() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        return self.url(name)

    def drop_database(self, name: str) -> None:
        with self.admin() as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")

    @contextmanager
    def scratch_database(self, migrated: bool = False) -> Iterator[str]:
        """A fresh database, dropped afterwards; with ``migrated`` the schema from sql/ applied. Its URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        url = self.create_database(name)
        try:
            if migrated:
                engine = create_engine(url)
                try:
                    migrate(engine)
                finally:
                    engine.dispose()
            yield url
        finally:
            self.drop_database(name)

    # -- internals -------------------------------------------------------------------------
    @staticmethod
    def _user_args() -> list[str]:
        # mariadbd refuses to run as root unless told to; the CI runs as root.
        return ["--user=root"] if os.geteuid() == 0 else []

    def _wait_ready(self, timeout: float) -> None:
        # mariadbd signals readiness only in its log; a successful connection is the reliable event.
        def connects() -> bool:
            try:
                pymysql.connect(unix_socket=str(self.socket), user="root", connect_timeout=2).close()
            except pymysql.err.OperationalError:
                return False
            return True

        wait_until_serving(self.process, connects, timeout, "mariadbd", self._log_tail)

    def _create_user(self) -> None:
        with self.admin() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE USER IF NOT EXISTS '{USER}'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'")
            cur.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{USER}'@'127.0.0.1'")

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return "(no log)"
