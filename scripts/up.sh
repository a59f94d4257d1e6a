#!/usr/bin/env bash
# Quick start, command 1: install what is missing, then run Hearth in single-machine mode
# (manager + embedded database + local agent on http://127.0.0.1:18080) and boot a first VM ("hello").
# setup.sh builds the bundles the bin runs (docs/decisions/0010-bundled-builds.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node apps/cli/bin/hearth.mjs up --demo "$@"
