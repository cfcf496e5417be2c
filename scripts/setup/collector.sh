#!/usr/bin/env bash
# Builds the OtelMon collector from configs/otelcol-builder.yaml with the OpenTelemetry Collector
# Builder (ocb) and Go modules, once: the binary is cached under a directory named after the
# manifest's sha256, so a changed manifest builds anew and an unchanged one is reused.
#
# Prints the binary's path as the last line of stdout; everything else goes to stderr.
# Needs: go (>= the version the generated go.mod asks for; no toolchain download), sha256sum, flock,
# and the Go module proxy. A cold build (empty module and build caches) took 7.5 min on 2 cores
# (about 6 CPU-minutes, 2.8 GB of caches); a cached binary is found in well under a second.
#
# Environment:
#   OTELMON_CACHE_DIR                 cache root (default ~/.cache/otelmon)
#   OTELMON_COLLECTOR_BUILD_TIMEOUT   seconds for each go step (default 1800)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
manifest="$root/configs/otelcol-builder.yaml"
cache_root="${OTELMON_CACHE_DIR:-$HOME/.cache/otelmon}"
step_timeout="${OTELMON_COLLECTOR_BUILD_TIMEOUT:-1800}"

die() { echo "collector.sh: $*" >&2; exit 1; }

[ -f "$manifest" ] || die "no manifest at $manifest"
command -v go >/dev/null || die "go is not on PATH"
command -v flock >/dev/null || die "flock (util-linux) is not on PATH"

hash=$(sha256sum "$manifest" | cut -d' ' -f1)
name=$(sed -n 's/^  name: *//p' "$manifest" | head -n1)
# The manifest's dist.version is the collector release, and ocb is pinned to that same release.
version=$(sed -n 's/^  version: *//p' "$manifest" | head -n1 | tr -d '"')
[ -n "$name" ] && [ -n "$version" ] || die "dist.name or dist.version missing in $manifest"

target_dir="$cache_root/otelcol-$hash"
binary="$target_dir/$name"

mkdir -p "$cache_root"
# Two test runs starting together build once; the second waits, then reuses.
exec 9>"$cache_root/otelcol-$hash.lock"
flock -w "$((step_timeout * 3))" 9 || die "timed out waiting for another build of $binary"

if [ -x "$binary" ] && "$binary" --version >/dev/null 2>&1; then
    echo "$binary"
    exit 0
fi

# A toolchain switch would download Go itself; a too-old go must fail here, visibly.
export GOTOOLCHAIN=local

work=$(mktemp -d "$cache_root/otelcol-$hash.build.XXXXXX")
trap 'rm -rf "$work"' EXIT

ocb_dir="$cache_root/ocb-v$version"
ocb="$ocb_dir/builder"
if ! [ -x "$ocb" ]; then
    echo "collector.sh: installing ocb v$version" >&2
    GOBIN="$work/ocb" timeout "$step_timeout" \
        go install "go.opentelemetry.io/collector/cmd/builder@v$version" >&2 \
        || die "go install of ocb v$version failed"
    mkdir -p "$ocb_dir"
    mv -f "$work/ocb/builder" "$ocb"
fi

# ocb takes the output directory only from the manifest, so build from a copy that has one.
sed "/^dist:/a\\  output_path: $work/dist" "$manifest" > "$work/manifest.yaml"

echo "collector.sh: building $name $version (cold builds take minutes)" >&2
start=$(date +%s)
timeout "$step_timeout" "$ocb" --config "$work/manifest.yaml" >&2 || die "ocb build failed"
echo "collector.sh: built in $(( $(date +%s) - start ))s" >&2

built="$work/dist/$name"
"$built" --version >&2 || die "the built binary does not run"

mkdir -p "$target_dir"
cp "$manifest" "$target_dir/otelcol-builder.yaml"
# Same filesystem, so the final rename is atomic: a reader never sees half a binary.
mv -f "$built" "$binary.tmp"
mv -f "$binary.tmp" "$binary"
echo "$binary"
