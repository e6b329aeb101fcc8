#!/usr/bin/env bash
# Installs the npm dependencies exactly as locked. npm 11 writes lockfiles without the optional binaries of
# other platforms (npm/cli#8320, #4828) and its `npm ci` then refuses its own lockfile ("Missing: ... from lock
# file"); in that case fall back to `npm install`, which keeps every locked version and adds only those entries.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! npm ci --no-audit --no-fund 2>/tmp/wirekube-npm-ci.err; then
  if grep -q 'Missing: .* from lock file' /tmp/wirekube-npm-ci.err; then
    echo "npm ci refused the lockfile for missing optional platform packages (npm/cli#8320); using npm install" >&2
    npm install --no-audit --no-fund
  else
    cat /tmp/wirekube-npm-ci.err >&2
    exit 1
  fi
fi
