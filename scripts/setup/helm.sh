#!/usr/bin/env bash
# The Helm chart's test tools, built from Go modules once and cached (no prebuilt binary is downloaded):
#   helm     at a pinned release (helm.sh/helm/v3), by scripts/setup/go_tool.sh: the release's own go.mod and
#            go.sum decide every dependency; cached per version in ~/.cache/otelmon/go-tools/helm-VERSION.
#            Cold (its modules downloaded anew): 3 min 35 s on 2 cores (2 CPU-minutes); cached: well under a second.
#   decode   tests/helm/decode, the strict decoder of rendered manifests into the pinned k8s.io/api types;
#            cached by the sha256 of its go.mod, go.sum and sources, so a bumped k8s.io/api builds anew.
#            Cold (empty build cache, modules downloaded): 95 s on 2 cores shared with another build (1 CPU-minute).
# Prints VAR=path lines for scripts/test.sh to export (the last lines of stdout); everything else goes to stderr.
#
# Environment:
#   OTELMON_CACHE_DIR           cache root (default ~/.cache/otelmon)
#   OTELMON_GO_BUILD_TIMEOUT    seconds for each go step (default 1800)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
helm_version=v3.22.0
cache_root="${OTELMON_CACHE_DIR:-$HOME/.cache/otelmon}"
step_timeout="${OTELMON_GO_BUILD_TIMEOUT:-1800}"
decoder_src="$root/tests/helm/decode"

die() { echo "helm.sh: $*" >&2; exit 1; }
command -v go >/dev/null || die "go is not on PATH"
command -v flock >/dev/null || die "flock (util-linux) is not on PATH"

# `helm version` reports what the ldflags set; without them it says v3.x-dev.
helm_out=$(bash "$root/scripts/setup/go_tool.sh" helm helm.sh/helm/v3 "$helm_version" cmd/helm \
    "-X helm.sh/helm/v3/internal/version.version=$helm_version") || die "the helm build failed"
helm_bin=$(tail -n1 <<<"$helm_out")
[ -x "$helm_bin" ] || die "the helm build left no program (got '$helm_bin')"

hash=$(cat "$decoder_src/go.mod" "$decoder_src/go.sum" "$decoder_src"/*.go | sha256sum | cut -d' ' -f1)
decoder_dir="$cache_root/helm-decode-$hash"
decoder_bin="$decoder_dir/decode"
mkdir -p "$cache_root"
exec 9>"$decoder_dir.lock"
flock -w "$((step_timeout * 2))" 9 || die "timed out waiting for another build of $decoder_bin"
if ! [ -x "$decoder_bin" ]; then
    echo "helm.sh: building the manifest decoder (k8s.io/api from the module proxy; about a minute cold)" >&2
    work=$(mktemp -d "$decoder_dir.build.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    start=$(date +%s)
    # -mod=readonly: the committed go.sum decides, and a missing entry fails instead of being added.
    (cd "$decoder_src" && GOTOOLCHAIN=local GOWORK=off GOFLAGS=-mod=readonly \
        timeout "$step_timeout" go build -trimpath -o "$work/decode" .) >&2 || die "the decoder build failed"
    echo "helm.sh: built the decoder in $(( $(date +%s) - start ))s" >&2
    mkdir -p "$decoder_dir"
    mv -f "$work/decode" "$decoder_bin.tmp"
    mv -f "$decoder_bin.tmp" "$decoder_bin"
fi

echo "OTELMON_HELM_BIN=$helm_bin"
echo "OTELMON_HELM_DECODE_BIN=$decoder_bin"
