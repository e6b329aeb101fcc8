#!/usr/bin/env bash
# The agent's build-native target (nx, cached on the Go sources and the toolchain): the Go relay-link
# (native/relay-link) as a static binary in native/bin/, which the agent's spawn mode starts by default and the
# image carries (images/stage-app.sh). Without Go on PATH it builds nothing and keeps the binary that is there:
# the image's build stage has no Go and takes the one images/build.sh built on the host.
#
#   native/build.sh [OUTPUT]   # default bin/wirekube-relay-link (relative paths: to native/); the agent's tests
#                              # build into a temp dir with it
set -euo pipefail
out=${1:-bin/wirekube-relay-link}
case "$out" in /*) ;; *) out="$(cd "$(dirname "$0")" && pwd)/$out" ;; esac
cd "$(dirname "$0")"
if ! command -v go >/dev/null 2>&1; then
  if [ -x "$out" ]; then
    echo "build-native: skipped, no go on PATH; keeping the existing $out"
  else
    echo "build-native: skipped, no go on PATH and no $out: the agent will start the Node relay-link"
  fi
  exit 0
fi
mkdir -p "$(dirname "$out")"
# Built under a name of its own and renamed into place: a relay-link started from the old binary keeps running,
# and nothing ever starts a half-written one. No VCS stamping: a checkout owned by another user (CI containers,
# a clean clone) makes `go build` fail on it.
partial="$out.partial.$$"
trap 'rm -f "$partial"' EXIT
(cd relay-link && CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags="-s -w" -o "$partial" .)
mv -f "$partial" "$out"
echo "build-native: $(go version | cut -d' ' -f3) built $out ($(stat -c %s "$out") bytes, static)"
