#!/usr/bin/env bash
# go_tool.sh NAME MODULE VERSION PACKAGE [LDFLAGS [TAGS [STUBS]]]: builds a Go program at a pinned version, once, and prints
# its path as the last line of stdout (everything else goes to stderr).
#
# The program is built inside its own module as the module proxy serves it (`go mod download`, then
# `go build ./PACKAGE` there), so the release's go.mod and go.sum, replace directives included, decide every
# dependency: `go install MODULE/PACKAGE@VERSION` refuses modules with replace directives (Prometheus has one).
# The binary is cached under ~/.cache/otelmon/go-tools/NAME-VERSION/: each version is built once per machine.
#
# Environment:
#   OTELMON_CACHE_DIR           cache root (default ~/.cache/otelmon)
#   OTELMON_GO_BUILD_TIMEOUT    seconds for each go step (default 1800)
# TAGS are Go build tags (comma-separated); they are part of the cache key.
# STUBS (comma-separated paths in the module) are files a //go:embed needs that the module zip lacks (a web UI
# built by the release process, e.g. Alertmanager's ui/app/dist): the build then runs in a copy of the source
# with each one written as a placeholder page, so that program serves no UI (its API is what the tests use).
set -euo pipefail

[ $# -ge 4 ] || { echo "usage: $0 NAME MODULE VERSION PACKAGE [LDFLAGS [TAGS [STUBS]]]" >&2; exit 2; }
name=$1 module=$2 version=$3 package=$4 ldflags=${5:-} tags=${6:-} stubs=${7:-}
cache_root="${OTELMON_CACHE_DIR:-$HOME/.cache/otelmon}"
step_timeout="${OTELMON_GO_BUILD_TIMEOUT:-1800}"
die() { echo "go_tool.sh: $*" >&2; exit 1; }
command -v go >/dev/null || die "go is not on PATH"
command -v flock >/dev/null || die "flock (util-linux) is not on PATH"

target_dir="$cache_root/go-tools/$name-$version${tags:+-${tags//,/-}}${stubs:+-stubbed}"
binary="$target_dir/$name"
mkdir -p "$cache_root/go-tools"
# Two runs starting together build once; the second waits, then reuses.
exec 9>"$target_dir.lock"
flock -w "$((step_timeout * 2))" 9 || die "timed out waiting for another build of $binary"
if [ -x "$binary" ]; then
    echo "$binary"
    exit 0
fi

# A toolchain switch would download Go itself; a too-old go must fail here, visibly.
export GOTOOLCHAIN=local
# A go.work in the module (Prometheus has one) names folders the module zip does not carry.
export GOWORK=off
work=$(mktemp -d "$target_dir.build.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "go_tool.sh: building $module@$version ./$package (cold builds take minutes)" >&2
start=$(date +%s)
# -json reports a failure as an "Error" field on stdout: keep the output to say why.
download=$(timeout "$step_timeout" go mod download -json "$module@$version") \
    || die "go mod download $module@$version failed: $(sed -n 's/^[[:space:]]*"Error": "\(.*\)",*$/\1/p' <<<"$download")"
source_dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$download")
[ -d "$source_dir" ] || die "go mod download $module@$version gave no source folder"
if [ -n "$stubs" ]; then
    # The module cache is read-only: the placeholders go into a writable copy.
    cp -r "$source_dir" "$work/src" && chmod -R u+w "$work/src"
    source_dir="$work/src"
    IFS=, read -r -a stub_files <<<"$stubs"
    for stub in "${stub_files[@]}"; do
        mkdir -p "$(dirname "$source_dir/$stub")"
        echo "<!doctype html><title>$name</title><p>Built without its web UI (scripts/setup/go_tool.sh)." \
            >"$source_dir/$stub"
    done
fi
(cd "$source_dir" && timeout "$step_timeout" go build -trimpath -tags "$tags" -ldflags "$ldflags" -o "$work/$name" "./$package") >&2 \
    || die "go build of $module@$version ./$package failed"
echo "go_tool.sh: built $name in $(( $(date +%s) - start ))s" >&2
mkdir -p "$target_dir"
# Same filesystem, so the final rename is atomic: a reader never sees half a binary.
mv -f "$work/$name" "$binary.tmp"
mv -f "$binary.tmp" "$binary"
echo "$binary"
