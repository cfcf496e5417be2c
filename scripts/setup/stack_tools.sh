#!/usr/bin/env bash
# The stack's own programs that the tests run for real, at the versions docker-compose.yaml pins, built from
# Go modules once per version (scripts/setup/go_tool.sh caches them in ~/.cache/otelmon/go-tools):
#   Prometheus and promtool  (prom/prometheus:vX.Y.Z is the Go module github.com/prometheus/prometheus v0.(100X+Y).Z)
#   Mailpit                  (axllent/mailpit:vX.Y.Z is the Go module github.com/axllent/mailpit vX.Y.Z)
#   Alertmanager and amtool  (prom/alertmanager:vX.Y.Z is the Go module github.com/prometheus/alertmanager vX.Y.Z)
#   actionlint               (lints .github/workflows; pinned here)
# Prints VAR=path lines for scripts/test.sh to export; everything else goes to stderr. Cold: about 8 minutes
# on 2 cores (Prometheus most of it, Alertmanager about 2); cached: well under a second.
# Not built: Jaeger (about 10 minutes cold, more than the cold CI budget can carry; its config is checked
# against its documented keys instead, tests/stack/schemas/jaeger-*-config-keys.txt).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
compose="$root/docker-compose.yaml"
actionlint_version=v1.7.12

die() { echo "stack_tools.sh: $*" >&2; exit 1; }
pinned() { sed -n "s#^ *image: $1:v\{0,1\}\([0-9][0-9.]*\)\$#\1#p" "$compose" | head -n1; }
tool() {
    local out
    out=$(bash "$root/scripts/setup/go_tool.sh" "$@") || return 1
    tail -n1 <<<"$out"
}

prometheus=$(pinned prom/prometheus)
mailpit=$(pinned axllent/mailpit)
[ -n "$prometheus" ] || die "no prom/prometheus image pinned in $compose"
[ -n "$mailpit" ] || die "no axllent/mailpit image pinned in $compose"
alertmanager=$(pinned prom/alertmanager)
[ -n "$alertmanager" ] || die "no prom/alertmanager image pinned in $compose"
alertmanager_ldflags="-X github.com/prometheus/common/version.Version=$alertmanager"
# The module zip lacks the web UI that Alertmanager's release builds into ui/app/dist (//go:embed app/dist):
# placeholders stand in for it; the tests use its API only.
alertmanager_stubs="ui/app/dist/elm/index.html,ui/app/dist/mantine/index.html"
IFS=. read -r major minor patch <<<"$prometheus"
prometheus_module="v0.$((major * 100 + minor)).$patch"
prometheus_ldflags="-X github.com/prometheus/common/version.Version=$prometheus"
# Prometheus's own build tag that leaves out the optional service-discovery plugins (Kubernetes, the clouds):
# the stack scrapes static targets only, and the full build takes three times as long. A config that names a
# left-out mechanism fails `promtool check config` here, which is the cue to add its enable_<name>_sd tag.
# DNS is in: the `host` profile's scrape jobs find their targets by Docker's DNS, so they have none (and show
# nothing down) while the profile is off (configs/prometheus/host-scrape.yml).
prometheus_tags="remove_all_sd,enable_dns_sd"

# Each build is assigned first: `set -e` stops on a failed assignment, never on a failed $(...) inside echo.
prometheus_bin=$(tool prometheus github.com/prometheus/prometheus "$prometheus_module" cmd/prometheus "$prometheus_ldflags" "$prometheus_tags")
promtool_bin=$(tool promtool github.com/prometheus/prometheus "$prometheus_module" cmd/promtool "$prometheus_ldflags" "$prometheus_tags")
mailpit_bin=$(tool mailpit github.com/axllent/mailpit "v$mailpit" . "-X github.com/axllent/mailpit/config.Version=v$mailpit")
alertmanager_bin=$(tool alertmanager github.com/prometheus/alertmanager "v$alertmanager" cmd/alertmanager "$alertmanager_ldflags" "" "$alertmanager_stubs")
amtool_bin=$(tool amtool github.com/prometheus/alertmanager "v$alertmanager" cmd/amtool "$alertmanager_ldflags" "" "$alertmanager_stubs")
actionlint_bin=$(tool actionlint github.com/rhysd/actionlint "$actionlint_version" cmd/actionlint)
for bin in "$prometheus_bin" "$promtool_bin" "$mailpit_bin" "$alertmanager_bin" "$amtool_bin" "$actionlint_bin"; do
    [ -x "$bin" ] || die "a build left no program (got '$bin')"
done
echo "OTELMON_PROMETHEUS_BIN=$prometheus_bin"
echo "OTELMON_PROMTOOL_BIN=$promtool_bin"
echo "OTELMON_MAILPIT_BIN=$mailpit_bin"
echo "OTELMON_ALERTMANAGER_BIN=$alertmanager_bin"
echo "OTELMON_AMTOOL_BIN=$amtool_bin"
echo "OTELMON_ACTIONLINT_BIN=$actionlint_bin"
