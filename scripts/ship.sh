#!/usr/bin/env bash
# The runner's side of a deploy: sends a pack to the VM over SSH, in one connection, with the commit SHA as the only
# command. The deploy key's authorized_keys line on the VM forces the receiver (scripts/receive-deploy.sh, installed by
# scripts/install-vm.sh), which runs the deploy.sh inside the pack; the key can run nothing else.
# Usage: scripts/ship.sh SHA PACK.tar.gz
#   LAMBDA_VM_HOST, LAMBDA_VM_USER       where to log in
#   LAMBDA_VM_PORT                       SSH port (22)
#   LAMBDA_VM_KEY_FILE                   the private SSH key
#   LAMBDA_VM_KNOWN_HOSTS_FILE           the VM's host key, pinned: a host that shows another key is refused
# The deploy's own variables (LAMBDA_DEPLOY_*) are the VM's to set (its sshd's SetEnv), not the runner's.
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

echo "-----> Shipping $sha to $user@$host:$port"
# StrictHostKeyChecking=yes with only the pinned file: an unknown or changed host key ends the deploy before login.
exec ssh -T -p "$port" -i "$key" \
  -o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes \
  -o UserKnownHostsFile="$known_hosts" -o GlobalKnownHostsFile=/dev/null \
  -o ConnectTimeout=20 -o ServerAliveInterval=15 \
  -- "$user@$host" "$sha" <"$pack"
