#!/usr/bin/env bash
# Builds the lab's Go tools from the Go module proxy at the versions in versions.env, into a cache outside the
# repository keyed by tool, version and recipe, so a second run does nothing (and says nothing about building):
#   kube-apiserver, kubectl                              the control plane the tests talk to
#   kubelet, kube-controller-manager, kube-scheduler     real nodes and controllers (createLab kubernetes: true)
#   etcd, helm
#   lab-pause                                            the pod sandbox program (source in lab-pause/)
#
# k8s.io/kubernetes cannot be `go install`ed at a version: its go.mod replaces every k8s.io/* staging module
# with a local path. So we generate a throwaway module that requires it and pins each staging module to the
# matching v0.X.Y release, read from the replace block of the published go.mod.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"
cache=${WIREKUBE_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wirekube-lab}
export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local CGO_ENABLED=0
# Bump when the way a tool is built changes, so caches built the old way are not reused.
recipe=r2
mkdir -p "$cache"

log() { printf '[build-tools] %s\n' "$*" >&2; }

# Every binary of a cache entry is present (an entry is complete or absent: it is built in .tmp and renamed).
have_all() {
  local dir=$1
  shift
  local bin
  for bin in "$@"; do [ -x "$dir/bin/$bin" ] || return 1; done
}

# Builds the given k8s.io/kubernetes commands (e.g. cmd/kubelet) at $KUBERNETES_VERSION into the directory $1.
build_kubernetes() {
  local out=$1
  shift
  local v=$KUBERNETES_VERSION minor=${KUBERNETES_VERSION#v1.}
  local modfile
  modfile=$(go mod download -json "k8s.io/kubernetes@$v" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
  local replaces
  replaces=$(awk -v ver="v0.$minor" '/=> \.\/staging\/src\// { print "\t" $1 " => " $1 " " ver }' "$modfile")
  local work; work=$(mktemp -d)
  printf 'module wirekube.local/labtools\n\ngo 1.24.0\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n%s\n)\n' "$v" "$replaces" > "$work/go.mod"
  local imports='' pkgs=() cmd
  for cmd in "$@"; do
    imports+=$(printf '\t_ "k8s.io/kubernetes/%s"\n' "$cmd")$'\n'
    pkgs+=("k8s.io/kubernetes/$cmd")
  done
  printf '//go:build tools\n\npackage tools\n\nimport (\n%s)\n' "$imports" > "$work/tools.go"
  (cd "$work" && go mod tidy)
  # Stamp the version the way Kubernetes' own build does, so clients see v1.x and not v0.0.0-master (the kubelet
  # also reports it in its Node's status, and the API server rejects kubelets far from its own version).
  local cb=k8s.io/component-base/version cg=k8s.io/client-go/pkg/version
  local major=1 minorNum=${minor%%.*}
  local stamp="-X $cb.gitVersion=$v -X $cb.gitMajor=$major -X $cb.gitMinor=$minorNum -X $cb.gitTreeState=clean"
  stamp+=" -X $cg.gitVersion=$v -X $cg.gitMajor=$major -X $cg.gitMinor=$minorNum"
  rm -rf "$out.tmp" && mkdir -p "$out.tmp/bin"
  (cd "$work" && go build -trimpath -ldflags="-s -w $stamp" -o "$out.tmp/bin/" "${pkgs[@]}")
  rm -rf "$out" && mv "$out.tmp" "$out"
  rm -rf "$work"
}

# kube-apiserver and kubectl share one cache entry (named after kube-apiserver); node components have their own,
# so adding them did not invalidate the control plane's cache.
control_plane_dir() { printf '%s' "$cache/kube-apiserver-$KUBERNETES_VERSION-$recipe"; }
node_dir() { printf '%s' "$cache/kube-node-$KUBERNETES_VERSION-$recipe"; }

kubernetes() {
  if have_all "$(control_plane_dir)" kube-apiserver kubectl; then return; fi
  log "building kube-apiserver and kubectl $KUBERNETES_VERSION (first time only; several minutes)"
  build_kubernetes "$(control_plane_dir)" cmd/kube-apiserver cmd/kubectl
}

kubernetes_nodes() {
  if have_all "$(node_dir)" kubelet kube-controller-manager kube-scheduler; then return; fi
  log "building kubelet, kube-controller-manager and kube-scheduler $KUBERNETES_VERSION (first time only; several minutes)"
  build_kubernetes "$(node_dir)" cmd/kubelet cmd/kube-controller-manager cmd/kube-scheduler
}

etcd() {
  local v=$ETCD_VERSION out="$cache/etcd-$ETCD_VERSION-$recipe"
  if have_all "$out" etcd; then return; fi
  log "building etcd $v"
  local work; work=$(mktemp -d)
  printf 'module wirekube.local/labtools\n\ngo 1.24.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$v" > "$work/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > "$work/tools.go"
  (cd "$work" && go mod tidy)
  rm -rf "$out.tmp" && mkdir -p "$out.tmp/bin"
  (cd "$work" && go build -trimpath -ldflags='-s -w' -o "$out.tmp/bin/etcd" go.etcd.io/etcd/server/v3)
  rm -rf "$out" && mv "$out.tmp" "$out"
  rm -rf "$work"
}

# helm has its own recipe suffix, so changing how it is built does not rebuild kube-apiserver.
helm_recipe=r3

helm() {
  local v=$HELM_VERSION out="$cache/helm-$HELM_VERSION-$helm_recipe"
  if have_all "$out" helm; then return; fi
  log "building helm $v"
  local work; work=$(mktemp -d)
  printf 'module wirekube.local/labtools\n\ngo 1.24.0\n\nrequire helm.sh/helm/v3 %s\n' "$v" > "$work/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "helm.sh/helm/v3/cmd/helm"\n' > "$work/tools.go"
  (cd "$work" && go mod tidy)
  rm -rf "$out.tmp" && mkdir -p "$out.tmp/bin"
  # Helm's default Kubernetes version (for kubeVersion checks in `helm template`) is stamped at build time from
  # the client-go it links; unstamped it claims v1.20 and rejects charts that require a current cluster.
  local clientgo major=1 minor
  clientgo=$(cd "$work" && go list -m -f '{{.Version}}' k8s.io/client-go)
  minor=$(printf '%s' "$clientgo" | cut -d. -f2)
  local stamp="-X helm.sh/helm/v3/internal/version.version=$v"
  stamp+=" -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$major -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor"
  (cd "$work" && go build -trimpath -ldflags="-s -w $stamp" -o "$out.tmp/bin/helm" helm.sh/helm/v3/cmd/helm)
  rm -rf "$out" && mv "$out.tmp" "$out"
  rm -rf "$work"
}

# The pod sandbox image's program (lab-pause/), keyed by its source so an edit rebuilds it.
lab_pause_dir() { printf '%s/lab-pause-%s' "$cache" "$(cat "$here/lab-pause/main.go" "$here/lab-pause/go.mod" | sha256sum | cut -c1-12)"; }
lab_pause() {
  local out
  out=$(lab_pause_dir)
  if have_all "$out" lab-pause; then return; fi
  log "building lab-pause"
  rm -rf "$out.tmp" && mkdir -p "$out.tmp/bin"
  (cd "$here/lab-pause" && go build -trimpath -ldflags='-s -w' -o "$out.tmp/bin/lab-pause" .)
  rm -rf "$out" && mv "$out.tmp" "$out"
}

etcd
helm
kubernetes
kubernetes_nodes
lab_pause

# One stable place for everything else to find the binaries: a bin dir of symlinks for the pinned versions.
# Replaced only when wrong, so a run with everything present writes nothing.
link() {
  [ "$(readlink "$cache/bin/$2" 2>/dev/null)" = "$1/bin/$2" ] || ln -sfn "$1/bin/$2" "$cache/bin/$2"
}
mkdir -p "$cache/bin"
link "$(control_plane_dir)" kube-apiserver
link "$(control_plane_dir)" kubectl
for bin in kubelet kube-controller-manager kube-scheduler; do link "$(node_dir)" "$bin"; done
link "$cache/etcd-$ETCD_VERSION-$recipe" etcd
link "$cache/helm-$HELM_VERSION-$helm_recipe" helm
link "$(lab_pause_dir)" lab-pause
log "tools ready in $cache/bin"
