#!/usr/bin/env bash
# `npm run playground`: installs what it needs on a fresh machine (npm packages, the lab's Debian packages and
# Go-built tools), builds the packages, then brings the playground up. Arguments go to the playground.
set -euo pipefail
cd "$(dirname "$0")/.."
export NX_NO_CLOUD=true NX_DAEMON=false NX_TUI=false
[ -d node_modules ] || bash scripts/install.sh
bash e2e/setup.sh
npx nx run-many -t build --outputStyle=static >/dev/null
exec npx tsx e2e/src/cli/playground.ts "$@"
