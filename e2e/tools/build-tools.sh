#!/usr/bin/env bash
# Builds the lab's Go tools (kube-apiserver, kubectl, etcd, helm) from the Go module proxy at the versions in
# versions.env, into a cache outside the repository keyed by tool and version, so a second run does nothing.
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

have() { [ -x "$cache/$1-$2-$recipe/bin/$1" ]; }


kubernetes() {
  local v=$KUBERNETES_VERSION minor=${KUBERNETES_VERSION#v1.}
  if have kube-apiserver "$v" && have kubectl "$v"; then return; fi
  log "building kube-apiserver and kubectl $v (first time only; several minutes)"
  local modfile
  modfile=$(go mod download -json "k8s.io/kubernetes@$v" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
  local replaces
  replaces=$(awk -v ver="v0.$minor" '/=> \.\/staging\/src\// { print "\t" $1 " => " $1 " " ver }' "$modfile")
  local body
  body=$(printf 'module wirekube.local/labtools\n\ngo 1.24.0\n\nrequire k8s.io/kubernetes %s\n\nreplace (\n%s\n)\n' "$v" "$replaces")
  local work; work=$(mktemp -d)
  printf '%s\n' "$body" > "$work/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n\t_ "k8s.io/kubernetes/cmd/kubectl"\n)\n' > "$work/tools.go"
  (cd "$work" && go mod tidy)
  local out="$cache/kube-apiserver-$v-$recipe"
  mkdir -p "$out.tmp/bin"
  # Stamp the version the way Kubernetes' own build does, so clients see v1.x and not v0.0.0-master.
  local cb=k8s.io/component-base/version cg=k8s.io/client-go/pkg/version
  local major=1 minorNum=${minor%%.*}
  local stamp="-X $cb.gitVersion=$v -X $cb.gitMajor=$major -X $cb.gitMinor=$minorNum -X $cb.gitTreeState=clean"
  stamp+=" -X $cg.gitVersion=$v -X $cg.gitMajor=$major -X $cg.gitMinor=$minorNum"
  (cd "$work" && go build -trimpath -ldflags="-s -w $stamp" -o "$out.tmp/bin/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl)
  rm -rf "$out" && mv "$out.tmp" "$out"
  rm -rf "$work"
}

etcd() {
  local v=$ETCD_VERSION
  if have etcd "$v"; then return; fi
  log "building etcd $v"
  local work; work=$(mktemp -d)
  printf 'module wirekube.local/labtools\n\ngo 1.24.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$v" > "$work/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' > "$work/tools.go"
  (cd "$work" && go mod tidy)
  local out="$cache/etcd-$v-$recipe"
  mkdir -p "$out.tmp/bin"
  (cd "$work" && go build -trimpath -ldflags='-s -w' -o "$out.tmp/bin/etcd" go.etcd.io/etcd/server/v3)
  rm -rf "$out" && mv "$out.tmp" "$out"
  rm -rf "$work"
}

# helm has its own recipe suffix, so changing how it is built does not rebuild kube-apiserver.
helm_recipe=r3

helm() {
  local v=$HELM_VERSION
  if [ -x "$cache/helm-$v-$helm_recipe/bin/helm" ]; then return; fi
  log "building helm $v"
  local work; work=$(mktemp -d)
  printf 'module wirekube.local/labtools\n\ngo 1.24.0\n\nrequire helm.sh/helm/v3 %s\n' "$v" > "$work/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "helm.sh/helm/v3/cmd/helm"\n' > "$work/tools.go"
  (cd "$work" && go mod tidy)
  local out="$cache/helm-$v-$helm_recipe"
  mkdir -p "$out.tmp/bin"
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

etcd
helm
kubernetes
# One stable place for everything else to find the binaries: a bin dir of symlinks for the pinned versions.
mkdir -p "$cache/bin"
ln -sf "$cache/kube-apiserver-$KUBERNETES_VERSION-$recipe/bin/kube-apiserver" "$cache/bin/kube-apiserver"
ln -sf "$cache/kube-apiserver-$KUBERNETES_VERSION-$recipe/bin/kubectl" "$cache/bin/kubectl"
ln -sf "$cache/etcd-$ETCD_VERSION-$recipe/bin/etcd" "$cache/bin/etcd"
ln -sf "$cache/helm-$HELM_VERSION-$helm_recipe/bin/helm" "$cache/bin/helm"
log "tools ready in $cache/bin"
