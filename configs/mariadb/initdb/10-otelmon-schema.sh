# shellcheck shell=bash
# Sourced (not executed) by the MariaDB image's entrypoint on first start, after it created the
# database and the application user from MARIADB_DATABASE / MARIADB_USER: docker_process_sql
# and the environment come from the entrypoint.
#
# Applies the same migration files the API applies at start (sql/migrations, mounted read-only),
# in version order, so the schema exists before anything connects. They are idempotent, so
# the API applying them again is harmless.
# OTELMON_SQL_MIGRATIONS lets the test suite point the script at the repository's sql/migrations.
otelmon_sql_dir=${OTELMON_SQL_MIGRATIONS:-/otelmon/sql/migrations}
otelmon_migrations=("$otelmon_sql_dir"/[0-9]*.sql)
if [ "${#otelmon_migrations[@]}" -eq 0 ] || [ ! -e "${otelmon_migrations[0]}" ]; then
	mysql_error "no migrations found in $otelmon_sql_dir (is ./sql/migrations mounted?)"
fi
for otelmon_migration in "${otelmon_migrations[@]}"; do
	mysql_note "otelmon: applying ${otelmon_migration##*/}"
	docker_process_sql < "$otelmon_migration"
done
unset otelmon_sql_dir otelmon_migrations otelmon_migration
