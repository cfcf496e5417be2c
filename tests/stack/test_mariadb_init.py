"""configs/mariadb: the server settings and the first-start scripts of the MariaDB container."""

from __future__ import annotations

import subprocess

import pymysql
import pytest
from sqlalchemy import create_engine, text

from otelmon.storage.migrate import migrate
from tests.stack.conftest import StackDatabase
from tests.stack.stack_paths import MARIADB_CNF, MIGRATIONS


def test_server_settings_parse_as_mariadbd_reads_them(tmp_path) -> None:
    """mariadbd itself reads the file (as the image's entrypoint does to check its config)."""
    defaults = tmp_path / "my.cnf"
    defaults.write_text(f"!include {MARIADB_CNF}\n")
    result = subprocess.run(
        ["mariadbd", f"--defaults-file={defaults}", "--verbose", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    values = dict(line.split(None, 1) for line in result.stdout.splitlines() if len(line.split(None, 1)) == 2)
    assert values["default-time-zone"].strip() == "+00:00"
    assert values["character-set-server"].strip() == "utf8mb4"
    assert values["skip-name-resolve"].strip() == "TRUE"


def test_init_creates_the_schema(stack_db: StackDatabase) -> None:
    with stack_db.app() as conn, conn.cursor() as cur:
        cur.execute("SHOW TABLES")
        tables = {row[0] for row in cur.fetchall()}
    assert "failures" in tables
    assert len(list(MIGRATIONS.glob("[0-9]*.sql"))) >= 1


def test_the_api_migrates_cleanly_after_the_init(stack_db: StackDatabase) -> None:
    """The API applies the same files at start, as the application user: it must not trip over them."""
    engine = create_engine(stack_db.app_url())
    try:
        applied = migrate(engine)
        assert applied == sorted(p.stem for p in MIGRATIONS.glob("[0-9]*.sql"))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM failures")).scalar() is not None
    finally:
        engine.dispose()


def test_grafana_reader_can_read(stack_db: StackDatabase) -> None:
    # Its password holds a quote and a backslash: the init script escaped it correctly if this logs in.
    with stack_db.reader() as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM failures")
        assert cur.fetchone()[0] >= 0


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO failures (identity_key) VALUES ('x')",
        "DELETE FROM failures",
        "UPDATE failures SET digest_id = 1",
        "DROP TABLE failures",
        "CREATE TABLE sneaky (id INT)",
        "SELECT * FROM mysql.user",
    ],
)
def test_grafana_reader_cannot_write_or_look_elsewhere(stack_db: StackDatabase, statement: str) -> None:
    with stack_db.reader() as conn, conn.cursor() as cur, pytest.raises(pymysql.MySQLError) as err:
        cur.execute(statement)
    assert err.value.args[0] in (1142, 1044, 1045, 1370), err.value


def test_grafana_reader_statements_are_time_limited(stack_db: StackDatabase) -> None:
    with stack_db.reader() as conn, conn.cursor() as cur:
        cur.execute("SELECT @@max_statement_time")
        assert float(cur.fetchone()[0]) == 30
