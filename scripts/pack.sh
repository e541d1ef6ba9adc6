#!/usr/bin/env bash
# Packs a built checkout (after `npm ci` and `npm run build`) into the tarball a deploy installs: what the server
# and the CLI need at run time, and no node_modules (the VM installs its own production packages beside it).
# Usage: scripts/pack.sh OUT.tar.gz
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:?usage: scripts/pack.sh OUT.tar.gz}
if [ ! -f dist/server/main.js ]; then
  echo " !     dist/server/main.js is missing: run \`npm run build\` before packing" >&2
  exit 1
fi
# dist/ is the compiled server and CLI; buildpacks/ and hooks/ are read at run time (the project root is the folder
# holding package.json); config/ holds default.yaml and the unit's memory settings; scripts/ has deploy.sh for the
# next deploy and ensure-docker.sh; bin/ is the CLI for an operator on the VM.
parts=(dist package.json package-lock.json buildpacks hooks config scripts bin LICENSE)
for part in "${parts[@]}"; do
  [ -e "$part" ] || { echo " !     $part is missing from the checkout; nothing packed" >&2; exit 1; }
done
# Owner and group are dropped so the files belong to whoever unpacks them on the VM.
tar --create --gzip --file "$out" --owner=0 --group=0 --numeric-owner --exclude='*.test.*' --exclude='__pycache__' "${parts[@]}"
echo "-----> Packed $(du -h "$out" | cut -f1) into $out"
