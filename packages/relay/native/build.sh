#!/usr/bin/env bash
# The relay's build-native target (nx, cached on the Go sources and the toolchain): the Go relay program
# (native/relay) as a static binary in native/bin/wirekube-relay, a drop-in for `node dist/main.js`, which the
# chart runs by default and the image carries. The build itself is scripts/build-go.sh, shared with the agent.
#
#   native/build.sh [OUTPUT]   # default native/bin/wirekube-relay
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec bash "$here/../../../scripts/build-go.sh" "$here/relay" "${1:-$here/bin/wirekube-relay}" \
  "only the Node relay (dist/main.js) is built"
