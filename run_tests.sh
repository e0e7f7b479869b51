#!/usr/bin/env bash
# Run the tests: make the environment, install, lint, then pytest.
#   bash run_tests.sh          # the fast tier: every test not marked slow (about 1 minute on 2 cores)
#   bash run_tests.sh --all    # everything: also the notebook chain and the benchmarks in tiny mode (CI runs this)
# Other arguments go to pytest, e.g. bash run_tests.sh -k webapp, or bash run_tests.sh --all -x.
set -euo pipefail
cd "$(dirname "$0")"
tier=(-m "not slow")
args=()
for arg in "$@"; do
  if [ "$arg" = "--all" ]; then tier=(); else args+=("$arg"); fi
done
source tools/bootstrap.sh requirements-dev.txt
.venv/bin/ruff check catsdogs tests notebooks benchmarks tools
# ${a[@]+"${a[@]}"}: an empty array under set -u in the bash 3.2 that macOS ships
exec .venv/bin/python -m pytest ${tier[@]+"${tier[@]}"} ${args[@]+"${args[@]}"}
