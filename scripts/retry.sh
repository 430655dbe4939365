# shellcheck shell=bash
# Sourced by .ci/run and scripts/*.sh: `retry WHAT COMMAND...` runs a download step again when it fails,
# RETRY_ATTEMPTS times in all (default 3), waiting 5 s, then 15 s, ... between attempts. The command's own
# output says why it failed; retry adds which attempt that was, so a flaky mirror reads differently in a log
# from a broken step (which fails every attempt the same way).

retry() {
  local what="$1" attempts="${RETRY_ATTEMPTS:-3}" attempt=1 status
  shift
  while true; do
    if "$@"; then return 0; else status=$?; fi
    if [ "$attempt" -ge "$attempts" ]; then
      echo "retry: $what failed (exit $status) on attempt $attempt of $attempts; giving up" >&2
      return "$status"
    fi
    echo "retry: $what failed (exit $status) on attempt $attempt of $attempts; trying again in $((attempt * 10 - 5)) s" >&2
    sleep "$((attempt * 10 - 5))"
    attempt=$((attempt + 1))
  done
}
