# Sourced by run_tutorial.sh and run_tests.sh: make .venv with Python 3.11 and install what
# the given requirements file lists, once (re-installed only when the file changes).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
requirements="$1"
python="${PYTHON:-}"
if [ -z "$python" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      python="$candidate"; break
    fi
  done
fi
if [ -z "$python" ]; then
  echo "error: Python 3.11 is needed (TensorFlow 2.21 wheels); install it, or set PYTHON=/path/to/python3.11" >&2
  exit 2
fi
if [ ! -x .venv/bin/python ]; then
  echo "Creating .venv with $("$python" --version)"
  "$python" -m venv .venv
fi
stamp=".venv/.installed-$(basename "$requirements")"
want="$(cat requirements*.txt pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "Installing $requirements into .venv (a few minutes the first time)"
  # pip and the build backend print banners even with --quiet (setuptools' "Editable installation"
  # notice for the -e install): keep their output in a log, and show it only if the install fails.
  log=".venv/install.log"
  if ! { .venv/bin/python -m pip install --quiet --upgrade pip \
         && .venv/bin/python -m pip install --quiet -r "$requirements" -e .; } >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "error: installing $requirements failed (the whole output is in $log); fix the cause and run again" >&2
    exit 1
  fi
  echo "$want" > "$stamp"
fi
