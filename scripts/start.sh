#!/usr/bin/env bash
# `npm start`: installs what is missing (npm packages, a Docker engine), builds, and runs the server.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "-----> Installing npm packages"
  npm ci --no-audit --no-fund
fi
bash scripts/ensure-docker.sh
echo "-----> Compiling TypeScript"
npx tsc -p tsconfig.build.json
echo "-----> Building the dashboard"
node scripts/build-dashboard.mjs
# Memory settings (config/server-memory.env); values already in the environment win.
while IFS='=' read -r name value; do
  case "$name" in ''|'#'*) continue ;; esac
  if [ -z "${!name:-}" ]; then export "$name=$value"; fi
done < config/server-memory.env
# shellcheck disable=SC2086 # the flags are words
exec node $LAMBDA_NODE_FLAGS dist/server/main.js
