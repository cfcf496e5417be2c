# shellcheck shell=bash
# Sourced by the MariaDB image's entrypoint on first start (see 10-otelmon-schema.sh).
#
# Grafana's MariaDB datasource logs in as this user: SELECT on the otelmon database and nothing
# else, and a statement time limit so a heavy dashboard query cannot hold the API's tables.
: "${GRAFANA_DB_USER:?GRAFANA_DB_USER must be set}"
: "${GRAFANA_DB_PASSWORD:?GRAFANA_DB_PASSWORD must be set}"
: "${MARIADB_DATABASE:?MARIADB_DATABASE must be set}"
grafana_password_sql=$(docker_sql_escape_string_literal "$GRAFANA_DB_PASSWORD")
mysql_note "otelmon: creating read-only user ${GRAFANA_DB_USER}"
docker_process_sql --database=mysql <<EOSQL
CREATE USER IF NOT EXISTS '${GRAFANA_DB_USER}'@'%' IDENTIFIED BY '${grafana_password_sql}'
    WITH MAX_USER_CONNECTIONS 10 MAX_STATEMENT_TIME 30;
GRANT SELECT ON \`${MARIADB_DATABASE}\`.* TO '${GRAFANA_DB_USER}'@'%';
EOSQL
unset grafana_password_sql
