#!/usr/bin/env bash
# The project's virtualenv with the package (editable) and its test dependencies.
set -euo pipefail
cd "$(dirname "$0")/../.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "${python}" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade "pip>=24,<27"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]"
