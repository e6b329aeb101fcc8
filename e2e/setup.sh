#!/usr/bin/env bash
# Provisions everything the lab needs, idempotently: Debian packages (only when one is missing, so a second run
# touches neither the network nor dpkg) and the Go-built kube-apiserver/kubectl/etcd/helm and
# kubelet/kube-controller-manager/kube-scheduler (cached by version).
# Called by `npm run lab:setup` and by `npm test` before the tests.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)

log() { printf '[lab:setup] %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  log "must run as root (the lab creates network namespaces and NAT rules)"
  exit 1
fi

# A package counts as present when dpkg says so. openssl signs the control plane's certificates.
packages=(wireguard-go wireguard-tools iptables nftables iproute2 iputils-ping conntrack iperf3 coturn openssl)
# Real Kubernetes nodes (createLab({ kubernetes: true })): a containerd and runc per node, and the lab's own OCI
# registry. None of them starts a service here; the lab runs its own instances per run.
packages+=(containerd runc docker-registry containernetworking-plugins)
# Container images without a Docker engine (LAB-FACTS): buildah builds, podman runs.
packages+=(buildah podman debootstrap)
missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Without --no-install-recommends apt pulls a kernel image and a systemd upgrade (about 100 MB).
  if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # Debian's coturn, containerd and docker-registry packages may enable a service; the lab starts its own.
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    for unit in coturn containerd docker-registry; do systemctl disable --now "$unit" >/dev/null 2>&1 || true; done
  fi
fi

bash "$here/tools/build-tools.sh"
log "ready"
