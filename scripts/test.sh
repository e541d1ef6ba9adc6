#!/usr/bin/env bash
# `npm test`: type check, lint, then every ava test; the end-to-end tests need a Docker engine (scripts/ensure-docker.sh),
# a browser and sshd (scripts/ensure-test-tools.sh).
# `npm run test:unit` (`test.sh unit`, or LAMBDA_SKIP_DOCKER=1): the same checks and every test that needs no engine.
set -euo pipefail
cd "$(dirname "$0")/.."

unit=0
if [ "${1:-}" = "unit" ] || [ "${LAMBDA_SKIP_DOCKER:-}" = "1" ]; then
  unit=1
fi

if [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund
fi
if [ "$unit" = "0" ]; then
  bash scripts/ensure-docker.sh
  bash scripts/ensure-test-tools.sh
fi
npx tsc --noEmit -p tsconfig.json
npx tsc --noEmit -p dashboard/tsconfig.json
npx eslint .
if [ "$unit" = "1" ]; then
  echo "-----> running the tests that need no engine (the end-to-end tests in test/e2e/ are left out)" >&2
  exec npx ava 'server/**/*.test.ts' 'cli/**/*.test.ts' 'dashboard/**/*.test.ts' 'test/*.test.ts'
fi
exec npx ava
