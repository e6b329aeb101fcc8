#!/usr/bin/env bash
# Builds the WireKube images with buildah from this checkout: agent, relay and controller (the controller only
# once packages/controller/src/main.ts exists). Without BASE_IMAGE it first builds the local Node 22 base
# (images/base/build-base.sh, cached), since no registry may be reachable. A program with native code (the
# agent's Go relay-link, the Go relay) needs go on PATH: it is built here first, into the build context.
#
#   images/build.sh                 # all programs
#   images/build.sh agent relay     # some
# Environment: BASE_IMAGE, TAG (default: each package's version), REGISTRY (default localhost/wirekube).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
log() { printf '[images] %s\n' "$*" >&2; }

programs=("$@")
if [ ${#programs[@]} -eq 0 ]; then
  programs=(agent relay)
  if [ -f packages/controller/src/main.ts ]; then programs+=(controller); else log "controller: no src/main.ts yet, skipped"; fi
fi
base=${BASE_IMAGE:-$(bash images/base/build-base.sh)}
registry=${REGISTRY:-localhost/wirekube}
# Machines behind a TLS-inspecting proxy trust its CA through NODE_EXTRA_CA_CERTS or npm's cafile; the build
# stage gets the same bundle (mounted for the RUN steps only).
ca_args=()
ca=${NODE_EXTRA_CA_CERTS:-$(npm config get cafile 2>/dev/null || true)}
if [ -n "$ca" ] && [ "$ca" != null ] && [ "$ca" != undefined ] && [ -f "$ca" ]; then
  ca_args=(--volume "$ca:/run/wirekube-build-ca.crt:ro" --build-arg NODE_EXTRA_CA_CERTS=/run/wirekube-build-ca.crt)
fi
revision=$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)

for program in "${programs[@]}"; do
  file=packages/$program/Dockerfile
  [ -f "$file" ] || { log "no $file"; exit 1; }
  version=$(node -p "require('./packages/$program/package.json').version")
  image=$registry/$program:${TAG:-$version}
  started=$(date +%s)
  # Native programs (the agent's Go relay-link, the relay's Go relay) are built here on the host: the image's build stage is Node only
  # and takes them from the build context as they are (packages/<program>/native/bin, see its Dockerfile).
  if [ -f "packages/$program/native/build.sh" ]; then
    command -v go >/dev/null || { log "$program: needs go on PATH for packages/$program/native (e2e/setup.sh needs it too)"; exit 1; }
    bash "packages/$program/native/build.sh" >&2
  fi
  log "building $image from $file (base $base)"
  # Host network: the build stage runs npm ci against the registry and the agent stage may run apt-get.
  buildah bud --network host --layers --quiet -f "$file" \
    --build-arg "BASE_IMAGE=$base" --build-arg "VERSION=$version" --build-arg "REVISION=$revision" "${ca_args[@]}" \
    -t "$image" . >/dev/null
  size=$(podman image inspect --format '{{.Size}}' "$image" 2>/dev/null || echo '?')
  log "built $image in $(($(date +%s) - started)) s"
  printf '%s\t%s\t%s\n' "$program" "$image" "$size"
done
