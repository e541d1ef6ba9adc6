#!/usr/bin/env bash
# The runner's side of a deploy: sends a pack to the VM over SSH and runs the deploy.sh inside it there, in one
# connection (the pack on the command's input), so the VM runs this commit's deploy script and needs no copy beforehand.
# Usage: scripts/ship.sh SHA PACK.tar.gz
#   LAMBDA_VM_HOST, LAMBDA_VM_USER       where to log in
#   LAMBDA_VM_PORT                       SSH port (22)
#   LAMBDA_VM_KEY_FILE                   the private SSH key
#   LAMBDA_VM_KNOWN_HOSTS_FILE           the VM's host key, pinned: a host that shows another key is refused
#   LAMBDA_DEPLOY_*                      passed on to deploy.sh when set (see there)
set -euo pipefail

sha=${1:?usage: scripts/ship.sh SHA PACK.tar.gz}
pack=${2:?usage: scripts/ship.sh SHA PACK.tar.gz}
host=${LAMBDA_VM_HOST:-}
user=${LAMBDA_VM_USER:-}
port=${LAMBDA_VM_PORT:-22}
key=${LAMBDA_VM_KEY_FILE:-}
known_hosts=${LAMBDA_VM_KNOWN_HOSTS_FILE:-}
for name in LAMBDA_VM_HOST LAMBDA_VM_USER LAMBDA_VM_KEY_FILE LAMBDA_VM_KNOWN_HOSTS_FILE; do
  [ -n "${!name:-}" ] || { echo " !     $name is not set" >&2; exit 2; }
done
[ -s "$known_hosts" ] || { echo " !     $known_hosts is empty: without the VM's host key the deploy would trust any host" >&2; exit 2; }
[ -f "$pack" ] || { echo " !     no pack at $pack" >&2; exit 2; }

# Quotes a word for the remote login shell (POSIX sh, whatever the user's shell is): inside single quotes only a
# single quote needs care.
quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

deploy="env"
for name in $(compgen -v LAMBDA_DEPLOY_ || true); do
  deploy+=" $(quote "$name=${!name}")"
done
# On the VM, in POSIX sh: keep the pack in a folder of its own while deploy.sh (taken from it) installs it.
remote="set -e; work=\$(mktemp -d); trap 'rm -rf \"\$work\"' EXIT; cat >\"\$work/pack.tar.gz\";"
remote+=" tar -xzf \"\$work/pack.tar.gz\" -C \"\$work\" scripts/deploy.sh;"
remote+=" $deploy bash \"\$work/scripts/deploy.sh\" $(quote "$sha") \"\$work/pack.tar.gz\""

echo "-----> Shipping $sha to $user@$host:$port"
# StrictHostKeyChecking=yes with only the pinned file: an unknown or changed host key ends the deploy before login.
exec ssh -p "$port" -i "$key" \
  -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes \
  -o UserKnownHostsFile="$known_hosts" -o GlobalKnownHostsFile=/dev/null \
  -o ConnectTimeout=20 -o ServerAliveInterval=15 \
  -- "$user@$host" "$remote" <"$pack"
