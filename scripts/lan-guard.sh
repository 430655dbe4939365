#!/usr/bin/env bash
# Closes the two paths by which a neighbour on the LAN reaches a container port that Docker published on
# 127.0.0.1 only (the dev stack's and the local preview host's, publishTo loopback). Docker on Linux before
# 28.0 leaves both open:
#  - for a port published on 127.0.0.1, Docker adds a DNAT rule (nat DOCKER: -d 127.0.0.1 ... -j DNAT) that
#    runs before the kernel's routing decision, so a packet a neighbour sends to 127.0.0.1 via this machine is
#    rewritten to the container's address and forwarded instead of being dropped as a martian;
#  - Docker's filter rules accept a published container port from anywhere, so a neighbour that routes the
#    container's own address (e.g. 172.18.0.2) via this machine reaches it directly.
# Both arrive as forwarded traffic, which Docker sends through the DOCKER-USER chain first. The guard drops there
# a new connection that was addressed to 127.0.0.0/8, and one into a Docker bridge from outside the bridges that
# was not DNAT-ed from one of this machine's own addresses. What it leaves: this machine's own connections
# (never forwarded), containers among themselves and to the outside, and a port published on purpose
# (publishTo lan: DNAT-ed from this machine's LAN address).
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: sudo bash scripts/lan-guard.sh <install|remove|check>

  install  add the guard's rules to Docker's DOCKER-USER chain (idempotent)
  remove   take them out again
  check    exit 0 when every rule is in place, 1 otherwise

Needs root and a Docker engine that manages iptables (the DOCKER-USER chain). The rules live in the
kernel until the next reboot: run install again after one. docs/configuration.md (publishTo) says
when it is needed.
USAGE
}

fail() { echo "lan-guard: $*" >&2; exit 1; }

CHAIN=DOCKER-USER
TAG="activity-api-lan-guard"
# One rule per line, as iptables takes them after the chain name.
RULES=(
  "-m conntrack --ctstate NEW --ctorigdst 127.0.0.0/8 -m comment --comment ${TAG}:loopback -j DROP"
  "! -i br-+ -o br-+ -m conntrack --ctstate NEW -m conntrack ! --ctstate DNAT -m comment --comment ${TAG}:direct -j DROP"
  "! -i docker0 -o docker0 -m conntrack --ctstate NEW -m conntrack ! --ctstate DNAT -m comment --comment ${TAG}:direct -j DROP"
)

action="${1:-}"
case "$action" in
  install|remove|check) ;;
  -h|--help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
esac
command -v iptables >/dev/null || fail "iptables is not installed"
[ "$(id -u)" -eq 0 ] || fail "needs root: sudo bash scripts/lan-guard.sh $action"
iptables -n -L "$CHAIN" >/dev/null 2>&1 ||
  fail "no $CHAIN chain: start Docker first (with its iptables management, the default)"

has() { read -ra rule <<<"$1"; iptables -C "$CHAIN" "${rule[@]}" 2>/dev/null; }

case "$action" in
  install)
    # Inserted at the top, in order, ahead of the chain's closing RETURN.
    position=1
    for spec in "${RULES[@]}"; do
      read -ra rule <<<"$spec"
      has "$spec" || iptables -I "$CHAIN" "$position" "${rule[@]}"
      position=$((position + 1))
    done
    echo "lan-guard: installed: neighbours cannot reach ports published on 127.0.0.1, nor containers by their own address"
    ;;
  remove)
    for spec in "${RULES[@]}"; do
      read -ra rule <<<"$spec"
      while has "$spec"; do iptables -D "$CHAIN" "${rule[@]}"; done
    done
    echo "lan-guard: removed"
    ;;
  check)
    for spec in "${RULES[@]}"; do has "$spec" || exit 1; done
    ;;
esac
