#!/usr/bin/env bash
# Debian packages the tests run for real: MariaDB server, Jython, Maven, Chromium (the console's browser tests,
# driven by Playwright; Playwright's own browser download is never used). (Prometheus, promtool and Mailpit are
# built at the stack's pinned versions by scripts/setup/stack_tools.sh: Debian's Prometheus is 2.42.)
set -euo pipefail

need=()
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need+=(mariadb-server mariadb-client)
command -v jython >/dev/null 2>&1 || need+=(jython)
command -v mvn >/dev/null 2>&1 || need+=(maven)
command -v java >/dev/null 2>&1 || need+=(default-jdk-headless)
[ -x /usr/bin/chromium ] || need+=(chromium)
# The `proxy` profile's config is checked and run by the real nginx (tests/stack/test_proxy.py).
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)

if [ "${#need[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing packages ${need[*]}: run as root (or install them) and try again" >&2
        exit 1
    fi
    echo "installing: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    timeout 600 apt-get update -qq
    # Debian starts a system nginx (and other daemons) on install: the tests run their own, on loopback.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    timeout 1200 apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
