#!/usr/bin/env bash
# Airflow for OtelMon's tests and benchmark: apache-airflow (pinned) and the otelmon package (editable, which
# also provides the top-level trace_log module) in a venv of their own, .venv-airflow at the repository root.
# Idempotent (does nothing when already up to date); works as root on a fresh Debian.
#
# Why a second venv: apache-airflow 3.3.2 requires fastapi<0.137 and brings ~130 pinned-by-resolution
# packages, while the OtelMon API in .venv runs a newer fastapi: one environment cannot hold both without
# downgrading the API. The tests stay in .venv and start this venv's python for everything Airflow does
# (tests/airflow/airflow_home.py), as the compose stack runs Airflow in an image of its own.
#
# Airflow's official constraint files cannot be fetched here (only PyPI), so the set this resolved to is
# frozen in scripts/setup/airflow-constraints.txt. After changing AIRFLOW_VERSION run:
#     scripts/setup/airflow.sh --refreeze
#
# Variables: OTELMON_AIRFLOW_VENV (default <repo>/.venv-airflow), OTELMON_AIRFLOW_BASE_PYTHON (default python3).
set -euo pipefail

AIRFLOW_VERSION=3.3.2
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${OTELMON_AIRFLOW_VENV:-$ROOT/.venv-airflow}"
BASE_PYTHON="${OTELMON_AIRFLOW_BASE_PYTHON:-python3}"
CONSTRAINTS="$ROOT/scripts/setup/airflow-constraints.txt"
STAMP="$VENV/.otelmon-setup-stamp"

say() { echo "airflow setup: $*"; }

usable_python() {
    command -v "$1" >/dev/null 2>&1 &&
        "$1" -c 'import sys, venv, ensurepip; sys.exit(not (3, 10) <= sys.version_info[:2] < (3, 15))' 2>/dev/null
}

check_venv() {
    "$VENV/bin/python" - "$AIRFLOW_VERSION" <<'PY' 2>/dev/null
import importlib.metadata, sys
import otelmon.instrument.airflow, trace_log  # noqa: F401  (the editable otelmon is importable)
sys.exit(importlib.metadata.version("apache-airflow") != sys.argv[1])
PY
}

if [[ "${1:-}" == "--refreeze" ]]; then
    # A new venv and no pins: pip resolves everything afresh (an existing venv would keep its versions).
    rm -rf "$VENV"
    : > "$CONSTRAINTS"
fi

if ! usable_python "$BASE_PYTHON"; then
    if [[ "$BASE_PYTHON" == python3 ]] && command -v apt-get >/dev/null 2>&1; then
        say "installing Debian's python3 and python3-venv"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
    fi
    usable_python "$BASE_PYTHON" || { say "need Python 3.10-3.14 with venv (got: $BASE_PYTHON)" >&2; exit 1; }
fi

if [[ ! -x "$VENV/bin/python" ]] || ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
    say "creating $VENV"
    rm -rf "$VENV"
    "$BASE_PYTHON" -m venv "$VENV"
fi

# Everything that decides what gets installed; unchanged inputs and a working venv mean nothing to do.
inputs_hash() {
    { cat "$CONSTRAINTS" 2>/dev/null || true; cat "$ROOT/pyproject.toml" "${BASH_SOURCE[0]}"; } |
        sha256sum | cut -d' ' -f1
}
if [[ -f "$STAMP" && "$(cat "$STAMP")" == "$(inputs_hash) $ROOT" ]] && check_venv; then
    say "up to date ($VENV)"
    exit 0
fi

say "installing apache-airflow==$AIRFLOW_VERSION and otelmon (editable) into $VENV"
constraint_args=()
[[ -s "$CONSTRAINTS" ]] && constraint_args=(--constraint "$CONSTRAINTS")
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${constraint_args[@]}" \
    --editable "$ROOT" "apache-airflow==$AIRFLOW_VERSION"

if [[ ! -s "$CONSTRAINTS" ]]; then
    {
        echo "# pip constraints for .venv-airflow, written by scripts/setup/airflow.sh --refreeze"
        echo "# (apache-airflow==$AIRFLOW_VERSION with otelmon's dependencies, as pip resolved them from PyPI)."
        "$VENV/bin/python" -m pip freeze --disable-pip-version-check --exclude-editable
    } > "$CONSTRAINTS"
    say "froze $(grep -vc '^#' "$CONSTRAINTS") packages into $CONSTRAINTS"
fi

check_venv || { say "the venv lacks apache-airflow==$AIRFLOW_VERSION or cannot import otelmon/trace_log" >&2; exit 1; }
echo "$(inputs_hash) $ROOT" > "$STAMP"
say "ready ($("$VENV/bin/python" -m airflow version 2>/dev/null | tail -1))"
