"""The CNN over several seeds, with and without notebook 01's colour changes: validation and photos from elsewhere.

    .venv/bin/python -m benchmarks.other_photos_seeds --data ../shared/datasets/cats_and_dogs_filtered.zip \\
        --photos ../shared/datasets/other_sources --seeds 42 43 44 --variants colour
    .venv/bin/python -m benchmarks.other_photos_seeds --tiny     # generated images: checks the script works

For each variant and seed it runs notebooks 01-03 (25 epochs, every other parameter the notebooks' default)
in a scratch workspace, then notebook 08 on that run's ``best.keras``, and records validation accuracy (last
epoch and best checkpoint), accuracy on the other photos and each class's recall. Variants: ``colour`` is the
notebooks' default (notebook 01's ``colour_augmentation``); ``no_colour`` sets it to ``{}``.

The photos from elsewhere are a test set (``benchmarks/README.md`` counts every look at them): run this only
for a final candidate, never to choose settings. Writes ``results/other_photos_seeds.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

from .common import describe_machine, hardware_line, make_tiny_images

SCHEMA_VERSION = 1
VARIANTS = {"colour": [], "no_colour": ["-p", "01_data.colour_augmentation", "{}"]}


def run_notebooks(args: list[str]) -> None:
    from catsdogs import tutorial

    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = tutorial.main(args)
    if code != 0:
        raise RuntimeError("the notebooks failed:\n" + printed.getvalue()[-3000:])


def one_run(work: Path, data: str, photos: str, seed: int, variant: str, tiny: bool) -> dict:
    from catsdogs import artifacts, paths

    common = ["--workdir", str(work), "--output-dir", str(work / "notebooks")] + (["--quick"] if tiny else [])
    start = time.perf_counter()
    run_notebooks(common + ["--only", "01", "02", "03", "-p", "01_data.data_source", data, "-p", "seed", str(seed),
                            *VARIANTS[variant]])
    run_notebooks(common + ["--only", "08", "-p", "08_other_photos.photos", photos,
                            "-p", "08_other_photos.model_files", '["best.keras"]'])
    ws = paths.workspace(work, create=False)
    summary = artifacts.load_json(ws.results / "history.json")["summary"]
    other = artifacts.load_json(ws.results / "other_photos.json")["models"]["best.keras"]
    return {"variant": variant, "seed": seed, "final_val_accuracy": summary["final_val_accuracy"],
            "best_val_accuracy": summary["best_val_accuracy"], "seconds_training": summary["seconds_total"],
            "other_accuracy": other["accuracy"], "other_recall": other["recall"], "other_n": other["n"],
            "other_by_source": other.get("by_source"), "minutes_wall": round((time.perf_counter() - start) / 60, 1)}


def mean_of(runs: list[dict], key: str, sub: str | None = None) -> float:
    return round(statistics.fmean(r[key][sub] if sub else r[key] for r in runs), 4)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.other_photos_seeds",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", help="the training archive or folder (default: $CATSDOGS_DATA)")
    parser.add_argument("--photos", help="photos from elsewhere, with cats/ and dogs/ (default: $CATSDOGS_OTHER_PHOTOS)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    parser.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=["colour"])
    parser.add_argument("--tiny", action="store_true", help="generated images, the quick profile")
    parser.add_argument("--output", help="default: results/other_photos_seeds.json in the repository")
    args = parser.parse_args(argv)

    import os

    from catsdogs import artifacts, paths

    scratch = Path(tempfile.mkdtemp(prefix="catsdogs-seeds-"))
    data, photos = args.data or os.environ.get("CATSDOGS_DATA"), args.photos or os.environ.get("CATSDOGS_OTHER_PHOTOS")
    if args.tiny:
        data = data or str(make_tiny_images(scratch / "images", 8, 4, 80))
        photos = photos or str(Path(data) / "validation")
    if not data or not photos:
        print("error: give --data and --photos (or CATSDOGS_DATA and CATSDOGS_OTHER_PHOTOS)", file=sys.stderr)
        return 2
    data, photos = (str(Path(p).expanduser().resolve()) for p in (data, photos))
    hardware, software = describe_machine()
    print(hardware_line(hardware, software), flush=True)
    runs = []
    for variant in args.variants:
        for seed in args.seeds:
            run = one_run(scratch / f"{variant}-{seed}", data, photos, seed, variant, args.tiny)
            runs.append(run)
            print(f"{variant} seed {seed}: validation {run['final_val_accuracy']:.3f} (best "
                  f"{run['best_val_accuracy']:.3f}), other photos {run['other_accuracy']:.3f} (cats "
                  f"{run['other_recall']['cats']:.3f}, dogs {run['other_recall']['dogs']:.3f})", flush=True)
    means = {variant: {"final_val_accuracy": mean_of(group, "final_val_accuracy"),
                       "other_accuracy": mean_of(group, "other_accuracy"),
                       "other_recall_cats": mean_of(group, "other_recall", "cats"),
                       "other_recall_dogs": mean_of(group, "other_recall", "dogs"), "seeds": len(group)}
             for variant in args.variants if (group := [r for r in runs if r["variant"] == variant])}
    results = {"schema": SCHEMA_VERSION, "mode": "tiny" if args.tiny else "full",
               "hardware_line": hardware_line(hardware, software), "runs": runs, "means": means}
    output = Path(args.output) if args.output else paths.workspace(None).results / "other_photos_seeds.json"
    artifacts.save_json(output, results)
    print(f"Saved {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
