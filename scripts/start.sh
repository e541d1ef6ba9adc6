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
exec node dist/server/main.js
