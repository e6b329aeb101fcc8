#!/usr/bin/env bash
# `npm run playground`: installs what it needs on a fresh machine (npm packages, the lab's Debian packages and
# Go-built tools), builds the packages, then brings the playground up. Arguments go to the playground.
set -euo pipefail
cd "$(dirname "$0")/.."

# --help answers at once: before anything is installed or built.
for arg in "$@"; do
  case $arg in
  -h | --help)
    cat e2e/src/cli/playground-usage.txt
    exit 0
    ;;
  esac
done

export NX_NO_CLOUD=true NX_DAEMON=false NX_TUI=false
ticker=
trap '[ -z "$ticker" ] || kill "$ticker" 2>/dev/null || true' EXIT
say() { printf '[playground] %s\n' "$*" >&2; }

# Runs one setup step, saying every 5 s that it is still at it, so a cold build (minutes) never looks like a hang.
# Its own output goes to a log, shown only when it fails (or passed through with `passthrough`).
step() {
  local what=$1 mode=$2
  shift 2
  say "$what …"
  local began=$SECONDS log status=0
  log=$(mktemp)
  # Background jobs of a script ignore Ctrl-C: the ticker also stops by itself once this script is gone.
  (while sleep 5 && kill -0 $$ 2>/dev/null; do say "… still $what ($((SECONDS - began)) s)"; done) &
  ticker=$!
  if [ "$mode" = passthrough ]; then "$@" || status=$?; else "$@" >"$log" 2>&1 || status=$?; fi
  kill "$ticker" 2>/dev/null || true
  wait "$ticker" 2>/dev/null || true
  if [ "$status" -ne 0 ]; then
    [ "$mode" = passthrough ] || cat "$log" >&2
    rm -f "$log"
    say "$what failed (exit $status)"
    exit "$status"
  fi
  rm -f "$log"
  say "$what: done in $((SECONDS - began)) s"
}

[ -d node_modules ] || step 'installing npm packages (first time only)' quiet bash scripts/install.sh
# setup.sh says what it installs or builds itself; a no-op (the usual case) takes about a second.
step 'checking the lab tools (Debian packages, kube-apiserver, kubelet, etcd, helm)' passthrough bash e2e/setup.sh
step 'building the packages (nx, cached)' quiet npx nx run-many -t build --outputStyle=static
say 'starting the playground …'
# One process, tsx as a loader: the `tsx` wrapper would relay Ctrl-C and SIGKILL us mid-teardown.
exec node --import tsx e2e/src/cli/playground.ts "$@"
