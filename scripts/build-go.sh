#!/usr/bin/env bash
# Builds one of the repository's Go programs as a static binary: what each package's native/build.sh (its nx
# build-native target) runs, and the agent's tests through it. Without Go on PATH it builds nothing and keeps the
# binary that is there: an image's build stage has no Go and takes the one images/build.sh built on the host.
#
#   scripts/build-go.sh SOURCE_DIR OUTPUT "what happens without the binary"
set -euo pipefail
source_dir=$(cd "$1" && pwd)
out=$2
without=$3
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
if ! command -v go >/dev/null 2>&1; then
  if [ -x "$out" ]; then
    echo "build-native: skipped, no go on PATH; keeping the existing $out"
  else
    echo "build-native: skipped, no go on PATH and no $out: $without"
  fi
  exit 0
fi
mkdir -p "$(dirname "$out")"
# Built under a name of its own and renamed into place: a process started from the old binary keeps running, and
# nothing ever starts a half-written one. No VCS stamping: a checkout owned by another user (CI containers, a
# clean clone) makes `go build` fail on it.
partial="$out.partial.$$"
trap 'rm -f "$partial"' EXIT
(cd "$source_dir" && CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="-s -w" -o "$partial" .)
mv -f "$partial" "$out"
echo "build-native: $(go version | cut -d' ' -f3) built $out ($(stat -c %s "$out") bytes, static)"
