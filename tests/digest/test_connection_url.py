"""The Airflow connection ``otelmon_db`` as the SQLAlchemy URL the digest connects with."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import make_url

from otelmon.digest.airflow_task import connection_url


@pytest.mark.parametrize("conn_type", ["mysql", "mariadb", "MySQL"])
def test_mysql_connections_use_pymysql_and_keep_odd_passwords_intact(conn_type):
    url = make_url(connection_url(conn_type, "mariadb", "otelmon", "p@ss/w:rd#1", None, "otelmon"))
    assert (url.drivername, url.host, url.port, url.database) == ("mysql+pymysql", "mariadb", 3306, "otelmon")
    assert (url.username, url.password) == ("otelmon", "p@ss/w:rd#1")


def test_sqlite_connection_is_a_file_path():
    assert connection_url("sqlite", "/data/otelmon.db", None, None, None, None) == "sqlite:////data/otelmon.db"


def test_other_databases_are_refused_by_name():
    with pytest.raises(ValueError, match="postgres"):
        connection_url("postgres", "db", "u", "p", 5432, "otelmon")
