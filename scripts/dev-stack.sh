#!/usr/bin/env bash
# npm run dev:up / dev:down: the dev stack for a newcomer with the Pulumi CLI and Docker but no Pulumi Cloud
# account: state in a project-local file backend (.pulumi/), secrets with the passphrase provider.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/dev-stack.sh <up|down>

  up     create or select the dev stack and deploy it: the API on http://localhost:10001,
         DynamoDB Local on 127.0.0.1:8000, both on the local Docker engine; DynamoDB Local's
         tables live on a Docker volume and survive restarts of the containers and of Docker
  down   destroy the dev stack's containers, network and images, and the volume with DynamoDB
         Local's tables and items (the next up starts from an empty database)

State goes to .pulumi/ in the repository (override with PULUMI_BACKEND_URL). The dev stack holds
no secret and always uses the empty passphrase, whose salt Pulumi.dev.yaml carries. Users with a
Pulumi backend of their own can run `pulumi up --stack dev` directly instead.
USAGE
}

fail() { echo "dev-stack: $*" >&2; exit 1; }

action="${1:-}"
case "$action" in
  up|down) ;;
  -h|--help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."

command -v pulumi >/dev/null || fail "the Pulumi CLI is not installed: see https://www.pulumi.com/docs/iac/download-install/"
command -v docker >/dev/null || fail "the docker CLI is not installed: see https://docs.docker.com/engine/install/"
docker info >/dev/null 2>&1 || fail "the Docker daemon does not answer: start Docker (docker info must succeed)"
[ -d node_modules ] || fail "dependencies are not installed: run npm ci first"
# The oldest CLI the project supports is Pulumi.yaml's requiredPulumiVersion; pulumi refuses an older one too,
# but a CLI older than that field would not, and this says why in the user's terms.
required="$(sed -n 's/^requiredPulumiVersion: *">=\([0-9.]*\)"$/\1/p' Pulumi.yaml)"
installed="$(pulumi version 2>/dev/null | sed 's/^v//')"
if [ "$(printf '%s\n%s\n' "$required" "$installed" | sort -V | head -1)" != "$required" ]; then
  fail "the Pulumi CLI is ${installed:-of an unknown version}, and this project needs $required or later (a failed release is explained by an error hook, which older engines lack): see https://www.pulumi.com/docs/iac/download-install/"
fi

export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$PWD/.pulumi}"
# The empty passphrase, whatever the environment holds for other stacks: Pulumi.dev.yaml's encryptionsalt is
# the one it makes, so a passphrase of the user's would be refused, and a missing salt would be written into
# the tracked file.
export PULUMI_CONFIG_PASSPHRASE=""
unset PULUMI_CONFIG_PASSPHRASE_FILE
mkdir -p .pulumi

# Docker before 28 on Linux forwards a LAN neighbour to ports published on 127.0.0.1, which lan-guard.sh closes
# (docs/configuration.md, "Who reaches a local stack"); only root can see whether it is in place.
lan_guard_note() {
  [ "$(uname -s)" = Linux ] || return 0
  local major
  major="$(docker version --format '{{.Server.Version}}' 2>/dev/null | cut -d. -f1)"
  [[ "$major" =~ ^[0-9]+$ ]] && [ "$major" -lt 28 ] || return 0
  if [ "$(id -u)" -eq 0 ] && bash scripts/lan-guard.sh check >/dev/null 2>&1; then return 0; fi
  echo "dev-stack: note: Docker $major on Linux lets a LAN neighbour reach ports published on 127.0.0.1; sudo bash scripts/lan-guard.sh install closes that until the next reboot (docs/configuration.md)"
}

pulumi stack select dev --create --secrets-provider passphrase
if [ "$action" = up ]; then
  # No separate preview: with --yes it would run the program a second time only to print the plan that the
  # update prints anyway, step by step, as it goes; the program's run is seconds of every rollout.
  pulumi up --stack dev --yes --skip-preview
  echo "dev-stack: the API answers at http://localhost:10001/activity/1"
  lan_guard_note
else
  # Read before the destroy, whose outputs go with the stack; a stack never deployed has none.
  volume="$(pulumi stack output databaseVolume --stack dev 2>/dev/null || true)"
  pulumi destroy --stack dev --yes
  if [ -n "$volume" ]; then
    echo "dev-stack: removed the volume $volume and with it DynamoDB Local's tables and items; the next dev:up starts from an empty database"
  fi
fi
