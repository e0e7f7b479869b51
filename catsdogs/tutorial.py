"""Run the tutorial's notebooks in order with papermill.

    python -m catsdogs.tutorial                 # every notebook, in place, default parameters
    python -m catsdogs.tutorial --profile classroom   # the whole chain in minutes, for a class
    python -m catsdogs.tutorial --quick --workdir /tmp/run --output-dir /tmp/run/notebooks

Each notebook is executed into a temporary file that replaces the original only when the
whole notebook succeeded, so a failure never leaves a half-executed notebook behind. The
time each notebook took is printed and saved to ``results/run_times.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from . import artifacts, paths
from .data import DATA_ENV, is_url
from .pretrained import WEIGHTS_ENV

NOTEBOOK_DIR = paths.REPO_ROOT / "notebooks"

#: Parameters for a fast smoke run on small data (tests, a first try on a slow machine).
QUICK_PARAMETERS = {
    "01_data": {"image_size": 64, "batch_size": 8},
    "03_training": {"epochs": 1},
    "06_tfdata": {"epochs": 1, "throughput_batches": 2},
    # no download: random weights (the run tests the code, not the accuracy); one epoch per phase
    "07_transfer_learning": {"weights": None, "image_size": None, "frozen_epochs": 1, "fine_tune_epochs": 1,
                             "latency_runs": 5},
}

#: The classroom profile: the whole chain on the real data in five minutes on a 2-core machine like ours.
#: Smaller photos (64×64), lighter augmentation and fewer epochs; the README gives its measured numbers
#: (benchmarks/classroom.py). On two cores the CNN's epochs at 64×64 are bound by JPEG decoding and the
#: Python input pipeline, not the model, so every epoch must count.
CLASSROOM_PARAMETERS = {
    "01_data": {
        "image_size": 64,
        "batch_size": 16,
        # mirroring and a slight zoom only: in 11 epochs the network must learn fast, and overfits little
        "augmentation": {"zoom_range": 0.1, "horizontal_flip": True},
    },
    "03_training": {"epochs": 11},
    "06_tfdata": {"epochs": 1, "throughput_batches": 3},
    # small photos, one epoch with the pretrained base frozen and no fine-tuning: the idea in half a minute
    # (fine-tuning one more epoch costs about as much as two CNN epochs, which buy more here)
    "07_transfer_learning": {"image_size": 64, "frozen_epochs": 1, "fine_tune_epochs": 0, "fine_tune_from": 150,
                             "latency_runs": 5},
}

PROFILES = {"quick": QUICK_PARAMETERS, "classroom": CLASSROOM_PARAMETERS}


def notebooks() -> list[Path]:
    """The tutorial's notebooks, in order: every ``NN_name.ipynb`` in notebooks/."""
    return sorted(p for p in NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))


def parameters_for(notebook: Path, profile: str | None, workdir: str | None, extra: dict) -> dict:
    """The parameters for one notebook: the profile's (None: the notebook's defaults), then ``extra``."""
    params: dict = {}
    if workdir:
        params["workdir"] = workdir
    if profile:
        params.update(PROFILES[profile].get(notebook.stem, {}))
    for key, value in extra.items():
        name, _, param = key.rpartition(".")
        if not name or name == notebook.stem:
            params[param] = value
    return params


def run_notebook(notebook: Path, output: Path, params: dict, timeout: int | None = None) -> float:
    """Execute one notebook; ``output`` is written only if every cell succeeds."""
    import papermill

    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + output.stem + ".", suffix=".ipynb", dir=output.parent)
    os.close(fd)
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(notebook),
            tmp,
            parameters=params,
            cwd=str(notebook.parent),
            kernel_name="python3",
            progress_bar=False,
            execution_timeout=timeout,
        )
        artifacts.readable_by_all(tmp)
        os.replace(tmp, output)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return time.perf_counter() - start


def _parse_value(text: str):
    import json

    try:
        return json.loads(text)
    except ValueError:
        return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m catsdogs.tutorial", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small images and one epoch: a smoke run (tests)")
    parser.add_argument(
        "--profile", choices=sorted(PROFILES),
        help="a set of parameters: 'classroom' runs the whole chain in minutes; 'quick' is --quick",
    )
    parser.add_argument("--workdir", help="write data, models, figures and results here (default: the repository)")
    parser.add_argument("--output-dir", help="write executed notebooks here (default: in place)")
    parser.add_argument("--only", nargs="*", help="run only these notebooks (name prefixes such as 01 03)")
    parser.add_argument(
        "-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
        help="set a parameter, e.g. -p epochs 5 or -p 03_training.epochs 5 (values are JSON or text)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        if args.profile not in (None, "quick"):
            parser.error("--quick and --profile: choose one")
        args.profile = "quick"
    # The kernels run in notebooks/: make paths given relative to where this command runs absolute.
    source = os.environ.get(DATA_ENV)
    if source and not is_url(source) and Path(source).expanduser().exists():
        os.environ[DATA_ENV] = str(Path(source).expanduser().resolve())
    weights = os.environ.get(WEIGHTS_ENV)
    if weights and Path(weights).expanduser().exists():
        os.environ[WEIGHTS_ENV] = str(Path(weights).expanduser().resolve())
    if args.workdir:
        args.workdir = str(Path(args.workdir).expanduser().resolve())
    extra = {name: _parse_value(value) for name, value in args.param}

    selected = [nb for nb in notebooks() if not args.only or any(nb.stem.startswith(o) for o in args.only)]
    ws = paths.workspace(args.workdir)
    times = {}
    for notebook in selected:
        output = Path(args.output_dir) / notebook.name if args.output_dir else notebook
        params = parameters_for(notebook, args.profile, args.workdir, extra)
        shown = ", ".join(f"{k}={v!r}" for k, v in params.items() if k != "workdir")
        print(f"▶ {notebook.name}" + (f" ({shown})" if shown else ""), flush=True)
        try:
            seconds = run_notebook(notebook, output, params)
        except Exception as error:  # papermill raises PapermillExecutionError with the cell's traceback
            print(f"✗ {notebook.name} failed; it was left unchanged.\n{error}", file=sys.stderr)
            return 1
        times[notebook.name] = round(seconds, 1)
        print(f"  done in {seconds / 60:.1f} min", flush=True)
    total = sum(times.values())
    if not args.only:  # the times of a whole chain; a partial run would overwrite them with a part
        artifacts.save_json(ws.results / "run_times.json",
                            {"profile": args.profile or "default", "seconds": times, "total_seconds": round(total, 1)})
    print("All notebooks ran: " + ", ".join(f"{k} {v:.0f} s" for k, v in times.items())
          + f"; {total / 60:.1f} min in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
