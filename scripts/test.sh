#!/usr/bin/env bash
# The test command: set up (idempotent), type-check, then every test. Last line: `N passed, N failed`.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || { echo "0 passed, 1 failed"; exit 1; }
export PATH="$PWD/node_modules/.bin:$PATH"
if ! tsc --noEmit -p . >&2; then
  echo "typecheck failed (tsc --noEmit)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
exec bun scripts/run-tests.ts "$@"
