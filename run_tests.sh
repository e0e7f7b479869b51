#!/usr/bin/env bash
# Run the tests: make the environment, install, lint, then pytest (about 3 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")"
source tools/bootstrap.sh requirements-dev.txt
.venv/bin/ruff check catsdogs tests notebooks benchmarks tools
exec .venv/bin/python -m pytest "$@"
