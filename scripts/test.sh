#!/usr/bin/env bash
# `npm test`: type check, lint, then every ava test; the end-to-end tests need a Docker engine (scripts/ensure-docker.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund
fi
bash scripts/ensure-docker.sh
npx tsc --noEmit -p tsconfig.json
npx eslint .
if [ "${LAMBDA_SKIP_DOCKER:-}" = "1" ]; then
  echo "-----> LAMBDA_SKIP_DOCKER=1: running the tests that need no Docker engine only" >&2
  exec npx ava 'server/**/*.test.ts' 'cli/**/*.test.ts' 'test/*.test.ts'
fi
exec npx ava
