#!/usr/bin/env bash
# The one command CI's deploy key may run on the VM: its authorized_keys line forces it (`restrict,command=…`), so the
# key opens no shell and no forwarding. The client's command line (SSH_ORIGINAL_COMMAND) is only the commit SHA; the
# pack comes on stdin, and the scripts/deploy.sh inside it installs it (scripts/install-vm.sh installs this file).
# The deploy's variables (LAMBDA_DEPLOY_*) come from the session's environment, which the VM's sshd sets (SetEnv),
# never from the client.
set -euo pipefail

sha=${SSH_ORIGINAL_COMMAND:-}
# Only hex digits: whatever else a client sends (a shell command, a path) is refused without being run or echoed.
if ! [[ "$sha" =~ ^[0-9a-f]{7,40}$ ]]; then
  echo " !     this key only deploys: the command must be a commit SHA (7 to 40 hex digits), and the pack on stdin" >&2
  exit 2
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/pack.tar.gz"
tar --extract --gzip --no-same-owner --file "$work/pack.tar.gz" --directory "$work" scripts/deploy.sh ||
  { echo " !     the pack for $sha has no scripts/deploy.sh; nothing was changed" >&2; exit 1; }
bash "$work/scripts/deploy.sh" "$sha" "$work/pack.tar.gz"
