#!/usr/bin/env bash
# The agent's build-native target (nx, cached on the Go sources and the toolchain): the Go relay-link
# (native/relay-link) as a static binary in native/bin/, which the agent's spawn mode starts by default and the
# image carries (images/stage-app.sh). The build itself is scripts/build-go.sh, shared with the relay.
#
#   native/build.sh [OUTPUT]   # default native/bin/wirekube-relay-link; the agent's tests build into a temp dir
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
exec bash "$here/../../../scripts/build-go.sh" "$here/relay-link" "${1:-$here/bin/wirekube-relay-link}" \
  "the agent will start the Node relay-link"
