"""Fixtures for the stack tests: the compose model, a MariaDB initialised like the container, and
a Prometheus server on loopback holding span and health metrics.

The MariaDB fixture reuses the suite's server (``mariadb_server`` in tests/conftest.py) but not its
``mariadb_url``: here the database must be set up exactly as the MariaDB image's first start sets it
up, by the init scripts under configs/mariadb/initdb, with their users and grants.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pymysql
import pytest

from tests.harness.mariadb import MariaDBServer
from tests.stack.prometheus_server import PrometheusServer
from tests.stack.stack_paths import COMPOSE_FILE, MARIADB_INITDB, MIGRATIONS, REPO, compose_binary

# Variables a developer's shell or .env may set; the compose model under test is the default one.
_COMPOSE_ENV_KEEP = ("PATH", "HOME", "LANG", "TMPDIR")


def run_compose(*args: str, env_file: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: os.environ[k] for k in _COMPOSE_ENV_KEEP if k in os.environ}
    cmd = [str(compose_binary()), "--project-directory", str(REPO), "-f", str(COMPOSE_FILE)]
    # An empty env file stands for "no .env": a developer's own .env must not hide a missing default.
    cmd += ["--env-file", str(env_file) if env_file else os.devnull]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, env=env, timeout=60, check=False)


# Every service, those of optional profiles too: each must meet the same rules (pins, healthchecks, limits).
ALL_PROFILES = ("--profile", "*")


def one_shot_services(model: dict) -> set[str]:
    """Services others wait for with ``service_completed_successfully``: init jobs that exit."""
    return {
        dep
        for service in model["services"].values()
        for dep, spec in (service.get("depends_on") or {}).items()
        if spec.get("condition") == "service_completed_successfully"
    }


@pytest.fixture(scope="session")
def compose_model() -> dict:
    """``docker compose config`` as JSON: the model Compose itself builds from the file (the default stack)."""
    result = run_compose("config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="session")
def compose_model_all() -> dict:
    """The model with every optional profile on (README, "Optional profiles"): every service the stack may run."""
    result = run_compose(*ALL_PROFILES, "config", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="session")
def compose_raw_model() -> dict:
    """The same model before interpolation: values still show their ``${VAR:-default}``."""
    result = run_compose(*ALL_PROFILES, "config", "--no-interpolate", "--format", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@dataclass(frozen=True)
class StackDatabase:
    server: MariaDBServer
    name: str
    app_user: str
    app_password: str
    reader_user: str
    reader_password: str

    def connect(self, user: str, password: str) -> pymysql.connections.Connection:
        return pymysql.connect(
            host="127.0.0.1",
            port=self.server.port,
            user=user,
            password=password,
            database=self.name,
            autocommit=True,
            connect_timeout=5,
        )

    def app(self) -> pymysql.connections.Connection:
        return self.connect(self.app_user, self.app_password)

    def reader(self) -> pymysql.connections.Connection:
        return self.connect(self.reader_user, self.reader_password)

    def app_url(self) -> str:
        return f"mysql+pymysql://{self.app_user}:{self.app_password}@127.0.0.1:{self.server.port}/{self.name}"


# Stands in for the functions the MariaDB image's entrypoint offers to the init scripts it sources.
_ENTRYPOINT_SHIM = r"""
set -eo pipefail
shopt -s nullglob
mysql_note() { printf 'note: %s\n' "$*"; }
mysql_error() { printf 'error: %s\n' "$*" >&2; exit 1; }
docker_process_sql() {
    mariadb --protocol=socket -uroot --socket="$OTELMON_TEST_SOCKET" --database="$MARIADB_DATABASE" "$@"
}
docker_sql_escape_string_literal() {
    local s=${1//\\/\\\\}
    s=${s//$'\n'/\\n}
    printf '%s\n' "${s//\'/\\\'}"
}
for script in "$@"; do
    . "$script"
done
"""


def run_init_scripts(server: MariaDBServer, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    scripts = sorted(str(p) for p in MARIADB_INITDB.iterdir())
    full_env = {
        **os.environ,
        **env,
        "OTELMON_TEST_SOCKET": str(server.socket),
        "OTELMON_SQL_MIGRATIONS": str(MIGRATIONS),
    }
    return subprocess.run(
        ["bash", "-c", _ENTRYPOINT_SHIM, "initdb", *scripts],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def stack_db(mariadb_server: MariaDBServer) -> Iterator[StackDatabase]:
    """A database set up as the otelmon MariaDB container's first start sets it up."""
    suffix = uuid.uuid4().hex[:8]
    # A quote and a backslash: the init script must escape the password it writes into SQL.
    db = StackDatabase(
        mariadb_server, f"stack_{suffix}", f"app_{suffix}", "app-pw-" + suffix, f"reader_{suffix}", "it's-a\\reader-pw"
    )
    with mariadb_server.admin() as conn, conn.cursor() as cur:
        # What the image's entrypoint does with MARIADB_DATABASE, MARIADB_USER and MARIADB_PASSWORD.
        cur.execute(f"CREATE DATABASE `{db.name}`")
        cur.execute(f"CREATE USER '{db.app_user}'@'%' IDENTIFIED BY '{db.app_password}'")
        cur.execute(f"GRANT ALL ON `{db.name}`.* TO '{db.app_user}'@'%'")
    result = run_init_scripts(
        mariadb_server,
        {"MARIADB_DATABASE": db.name, "GRAFANA_DB_USER": db.reader_user, "GRAFANA_DB_PASSWORD": db.reader_password},
    )
    assert result.returncode == 0, f"init scripts failed:\n{result.stdout}\n{result.stderr}"
    try:
        yield db
    finally:
        with mariadb_server.admin() as conn, conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{db.name}`")
            cur.execute(f"DROP USER IF EXISTS '{db.app_user}'@'%', '{db.reader_user}'@'%'")


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    server = PrometheusServer(tmp_path_factory.mktemp("prometheus")).start()
    try:
        yield server
    finally:
        server.stop()
