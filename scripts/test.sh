#!/usr/bin/env bash
# The one test command. On a fresh Debian machine, as root, it installs what the suite needs
# (MariaDB, Prometheus' promtool, Jython, ...), creates the venv, builds what must be built, then runs
# ruff and the whole pytest suite. Arguments are passed to pytest (e.g. scripts/test.sh -k outage).
set -euo pipefail
cd "$(dirname "$0")/.."

for step in scripts/setup/[0-9][0-9]-*.sh; do
    echo "== setup: ${step}"
    bash "${step}"
done

echo "== ruff"
.venv/bin/ruff check .

echo "== pytest"
exec .venv/bin/python -m pytest "$@"
