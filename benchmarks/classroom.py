"""Time the classroom profile: the whole notebook chain, from the archive to the last notebook.

    .venv/bin/python -m benchmarks.classroom --data ../shared/datasets/cats_and_dogs_filtered.zip
    .venv/bin/python -m benchmarks.classroom --tiny     # generated images: checks the script works

Runs ``python -m catsdogs.tutorial --profile classroom`` in a scratch workspace (the repository's
notebooks, models and results are not touched), as a class would run it on a fresh machine: the data
is extracted from the archive, every notebook executes in order. Notebook 07 needs the pretrained weights;
set ``CATSDOGS_MOBILENET_WEIGHTS`` on a machine without network (see the README).

Writes ``results/classroom.json``: the profile's parameters, the time of each notebook and of the whole
chain, and the validation accuracy of the CNN (last epoch and best checkpoint) and of the transfer model.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from .common import describe_machine, hardware_line, load_average, make_tiny_images

SCHEMA_VERSION = 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.classroom", description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="the archive (or a URL or folder) notebook 01 reads "
                        "(default: $CATSDOGS_DATA, else the download)")
    parser.add_argument("--workdir", help="where results/ goes (default: $CATSDOGS_WORKDIR or the repository)")
    parser.add_argument("--tiny", action="store_true", help="generated images and the quick profile's weights=None")
    parser.add_argument("--output", help="default: <workdir>/results/classroom.json")
    args = parser.parse_args(argv)

    from catsdogs import artifacts, paths, tutorial
    from catsdogs.data import is_url

    began = time.perf_counter()
    load_start = load_average()
    scratch = Path(tempfile.mkdtemp(prefix="catsdogs-classroom-"))
    try:
        ws = paths.workspace(args.workdir)
        work = scratch / "work"
        run = ["--profile", "classroom", "--workdir", str(work), "--output-dir", str(scratch / "notebooks")]
        if args.tiny and not args.data:
            run += ["-p", "01_data.data_source", str(make_tiny_images(scratch / "images", 8, 4, 80)),
                    "-p", "07_transfer_learning.weights", "null"]
        elif args.data:
            source = args.data if is_url(args.data) else str(Path(args.data).expanduser().resolve())
            run += ["-p", "01_data.data_source", source]
        hardware, software = describe_machine()
        print(hardware_line(hardware, software), flush=True)
        start = time.perf_counter()
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            code = tutorial.main(run)
        total = time.perf_counter() - start
        print(printed.getvalue(), end="")
        if code != 0:
            print("error: the classroom run failed (see above)", file=sys.stderr)
            return 1
        run_ws = paths.workspace(work)
        history = artifacts.load_json(run_ws.results / "history.json")["summary"]
        metrics = artifacts.load_json(run_ws.results / "metrics.json")
        transfer = artifacts.load_json(run_ws.results / "transfer_metrics.json")
        times = artifacts.load_json(run_ws.results / "run_times.json")
        results = {
            "schema": SCHEMA_VERSION, "mode": "tiny" if args.tiny else "full",
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "hardware": hardware, "software": software,
            "hardware_line": hardware_line(hardware, software),
            "profile": tutorial.CLASSROOM_PARAMETERS,
            "seconds_total": round(total, 1),
            "seconds_per_notebook": times["seconds"],
            "cnn": {"final_val_accuracy": history["final_val_accuracy"],
                    "best_val_accuracy": history["best_val_accuracy"], "best_epoch": history["best_epoch"],
                    "epochs": history["epochs"], "seconds_training": history["seconds_total"],
                    "best_checkpoint_accuracy_notebook_04": metrics["accuracy"], "roc_auc": metrics["roc_auc"]},
            "transfer": {"val_accuracy": transfer["accuracy"], "roc_auc": transfer["roc_auc"]},
            "load_average": {"start": load_start, "end": load_average()},
            "duration_s": round(time.perf_counter() - began, 1),
        }
        output = Path(args.output) if args.output else ws.results / "classroom.json"
        artifacts.save_json(output, results)
        print(json.dumps({k: results[k] for k in ("seconds_total", "cnn", "transfer")}, indent=1))
        print(f"wrote {output}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
