#!/usr/bin/env bash
# Run the whole tutorial: make the environment, install, get the data, execute every notebook in order.
#   bash run_tutorial.sh                    # download the data set from Google
#   CATSDOGS_DATA=path/to/cats_and_dogs_filtered.zip bash run_tutorial.sh   # use a local copy
#   CATSDOGS_MOBILENET_WEIGHTS=path/to/mobilenet_v2_no_top.h5 bash run_tutorial.sh   # notebook 07 offline
# Extra arguments go to `python -m catsdogs.tutorial` (e.g. --quick, -p epochs 5); see --help.
set -euo pipefail
cd "$(dirname "$0")"
source tools/bootstrap.sh requirements.txt
exec .venv/bin/python -m catsdogs.tutorial "$@"
