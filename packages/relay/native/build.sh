#!/usr/bin/env bash
# The relay's build-native target (nx, cached on the Go sources and the toolchain): the Go relay program
# (native/relay) as a static binary in native/bin/wirekube-relay, a drop-in for `node dist/main.js`. Without Go on
# PATH it builds nothing and keeps the binary that is there (an image's build stage may have no Go).
set -euo pipefail
cd "$(dirname "$0")"
out=bin/wirekube-relay
if ! command -v go >/dev/null 2>&1; then
  if [ -x "$out" ]; then
    echo "build-native: skipped, no go on PATH; keeping the existing native/$out"
  else
    echo "build-native: skipped, no go on PATH and no native/$out: only the Node relay (dist/main.js) is built"
  fi
  exit 0
fi
mkdir -p bin
# Built under a name of its own and renamed into place: a relay started from the old binary keeps running, and
# nothing ever starts a half-written one. No VCS stamping: a checkout owned by another user makes `go build` fail.
partial="$out.partial.$$"
trap 'rm -f "$partial"' EXIT
(cd relay && CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="-s -w" -o "../$partial" .)
mv -f "$partial" "$out"
echo "build-native: $(go version | cut -d' ' -f3) built native/$out ($(stat -c %s "$out") bytes, static)"
