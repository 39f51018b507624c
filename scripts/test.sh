#!/usr/bin/env bash
# The test command: set up (idempotent), type-check, then every test. Last line: `N passed, N failed`.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || { echo "0 passed, 1 failed"; exit 1; }
export PATH="$PWD/node_modules/.bin:$PATH"
# The guest agent goes into every seed; tests that boot a guest (and den run from source) read it from dist/agent/.
bun scripts/build.ts --agent-only >&2 || { echo "guest agent build failed" >&2; echo "0 passed, 1 failed"; exit 1; }
if ! tsc --noEmit -p . >&2; then
  echo "typecheck failed (tsc --noEmit)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
exec bun scripts/run-tests.ts "$@"
