"""Every command that touches a database says which one; read-only commands never create or migrate one."""

import os
import subprocess
import sys

from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from tests.harness.mariadb import PASSWORD


def otelmon(*args: str, cwd, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("OTELMON_")}
    return subprocess.run([sys.executable, "-m", "otelmon.cli", *args], cwd=cwd, env=base | env,
                          capture_output=True, text=True, timeout=60)


def table_names(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        return inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_dry_run_without_a_database_says_so_and_creates_none(tmp_path):
    done = otelmon("digest", "--dry-run", cwd=tmp_path, OTELMON_ALERT_RECIPIENTS="team@example.com")
    assert done.returncode == 1
    path = tmp_path / "otelmon.db"
    assert done.stdout.splitlines()[0] == f"database: SQLite file {path}"
    assert f"no database at {path}" in done.stdout
    assert list(tmp_path.iterdir()) == []


def test_dry_run_against_an_empty_mariadb_migrates_nothing(mariadb_database, tmp_path):
    done = otelmon("digest", "--dry-run", cwd=tmp_path, OTELMON_DATABASE_URL=mariadb_database)
    assert done.returncode == 1 and "no OtelMon schema" in done.stdout, done.stdout + done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    assert table_names(mariadb_database) == []


def test_dry_run_against_a_migrated_database_works_and_names_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'data' / 'o.db'}"
    (tmp_path / "data").mkdir()
    assert otelmon("migrate", cwd=tmp_path, OTELMON_DATABASE_URL=url).returncode == 0
    done = otelmon("digest", "--dry-run", cwd=tmp_path, OTELMON_DATABASE_URL=url)
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    assert first == f"database: SQLite file {tmp_path / 'data' / 'o.db'}"
    assert second.startswith("no new failures in the last ")


def test_migrate_names_the_database_with_its_password_masked(mariadb_database, tmp_path):
    done = otelmon("migrate", cwd=tmp_path, OTELMON_DATABASE_URL=mariadb_database)
    assert done.returncode == 0, done.stderr
    masked = make_url(mariadb_database).render_as_string(hide_password=True)
    assert done.stdout.splitlines()[0] == f"database: {masked}" and "***" in masked
    assert PASSWORD not in done.stdout + done.stderr


def test_an_unreachable_database_is_one_line(tmp_path):
    url = "mysql+pymysql://otelmon:secret-pw@127.0.0.1:1/otelmon"
    done = otelmon("migrate", cwd=tmp_path, OTELMON_DATABASE_URL=url, OTELMON_DB_CONNECT_TIMEOUT_SECONDS="2")
    assert done.returncode == 1
    assert done.stderr.startswith("otelmon: cannot use the database (mysql+pymysql://otelmon:***@127.0.0.1:1/")
    assert "Traceback" not in done.stderr and "secret-pw" not in done.stderr


def test_serve_logs_its_database(start_api, tmp_path):
    api = start_api({}, cwd=tmp_path)
    assert f"database: SQLite file {tmp_path / 'otelmon.db'}" in api.logs()
