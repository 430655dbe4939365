#!/usr/bin/env bash
# `docker build` as a user runs it: with BuildKit and a client session, which `RUN --mount=type=secret` needs
# whenever the step is not already in the build cache. (A build through the Engine API, as testcontainers'
# `withBuildkit()` sends it, has no session: on an empty cache it fails with "no active session".)
#
# Usage: scripts/docker-build.sh [docker build options] CONTEXT
#
# The CLI: `docker` when it has the buildx plugin, else Debian's docker.io CLI (/usr/bin/docker, 20.10), whose
# built-in BuildKit client opens a session; a newer CLI without buildx cannot build with BuildKit at all.
# Output: nothing when the build succeeds. When it fails, the last 60 lines of the build's own output and one
# line saying so, on stderr, with the build's exit code. A build that fails on a transient network error (the
# npm registry resetting a connection, say) runs again, RETRY_ATTEMPTS times in all (default 3,
# scripts/retry.sh); any other failure is final at once, since it would fail the same way again.
set -euo pipefail
# shellcheck source=scripts/retry.sh
source "$(dirname "$0")/retry.sh"

if docker buildx version >/dev/null 2>&1; then
  cli=(docker)
elif [ -x /usr/bin/docker ] && [[ "$(DOCKER_BUILDKIT=1 /usr/bin/docker build --help 2>&1)" == *--secret* ]]; then
  cli=(/usr/bin/docker)
else
  echo "docker-build.sh: no docker CLI here builds with BuildKit: install the buildx plugin, or Debian's docker.io" >&2
  exit 1
fi

TRANSIENT='ECONNRESET|ETIMEDOUT|EAI_AGAIN|ECONNREFUSED|socket hang up|network timeout|i/o timeout|TLS handshake timeout|connection reset by peer|Temporary failure in name resolution|50[234] (Bad Gateway|Service Unavailable|Gateway Time-?out)'
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

failed() {
  tail -n 60 "$log" >&2
  echo "docker-build.sh: docker build failed (exit $1); its output is above" >&2
  exit "$1"
}

# One build into $log. A failure that names a transient network error returns it, for retry to try again;
# any other ends the script here.
build_once() {
  if DOCKER_BUILDKIT=1 "${cli[@]}" build --progress=plain "$@" >"$log" 2>&1; then return 0; else local status=$?; fi
  grep -E -m 1 -- "$TRANSIENT" "$log" >&2 || failed "$status"
  return "$status"
}

retry "docker build" build_once "$@" || failed "$?"
