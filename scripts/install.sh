#!/usr/bin/env bash
# Installs the npm dependencies exactly as locked (`npm ci`). The lockfile carries entries for platform binaries
# the registry here does not serve (scripts/lockfile-platforms.mjs, run on every install); should one still be
# missing, `npm ci` refuses the lockfile ("Missing: ... from lock file", as in npm/cli#8320) and this falls back
# to `npm install`, which keeps every locked version.
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
