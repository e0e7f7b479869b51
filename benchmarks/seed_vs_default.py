"""The tutorial's default training against the plain seed-style setup, full length, in one run.

    .venv/bin/python -m benchmarks.seed_vs_default          # notebook 03's epochs each, real data (~45 min on 2 cores)
    .venv/bin/python -m benchmarks.seed_vs_default --tiny   # generated images, one epoch: checks the script works

1. **Seed-style**: the classic model of *Deep Learning with Python* (1st ed., notebook 5.2) as the project's
   seed ran it: 150×150 photos, batch 32, ``ImageDataGenerator`` + ``flow_from_directory`` with the book's
   augmentation, Conv 32/64/128/128 + MaxPooling, Dropout(0.5), Dense(512), sigmoid, RMSprop(1e-4).
2. **Default**: notebooks 01–03 themselves, executed with papermill with their default parameters (so this
   measures exactly what a learner runs), with another seed than the committed run (``--seed``): the
   accuracy also tells how stable the committed number is. Both train for notebook 03's number of epochs.

Both train for the same number of epochs on the same data, one after the other in this process (the
default first), so the ratio of their training times holds even when other programs slow the machine down
a little. Then the
warm single-image prediction time of each trained model is measured: a JPEG file in, an answer out
(``Predictor.predict``: decoding, resizing, the model), and the model alone (``predict_on_batch``).

Writes ``results/seed_vs_default.json`` (read by notebook 03, which plots the seed-style curve beside its
own) and ``figures/seed_vs_default.png``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from .common import build_model, clock_log, data_folder, describe_machine, hardware_line, load_average
from .defaults import tutorial_defaults

SCHEMA_VERSION = 1

#: The seed-style setup (Chollet, Deep Learning with Python, 1st ed., 5.2), as the project's seed ran it.
SEED_STYLE = {
    "image_size": 150,
    "batch_size": 32,
    "augmentation": {"rotation_range": 40, "width_shift_range": 0.2, "height_shift_range": 0.2,
                     "shear_range": 0.2, "zoom_range": 0.2, "horizontal_flip": True},
    "interpolation": "nearest",
    "filters": [32, 64, 128, 128],
    "dropout": 0.5,
    "optimizer": "RMSprop",
    "learning_rate": 1e-4,
}


class EpochLog:
    """Per-epoch metrics and wall time of ``fit`` (validation included)."""

    def __init__(self):
        import keras

        log = self

        class Callback(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                log.start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                log.epochs.append({"epoch": epoch + 1, "seconds": round(time.perf_counter() - log.start, 2),
                                   **{k: float(v) for k, v in (logs or {}).items()}})

        self.epochs: list[dict] = []
        self.callback = Callback()


def train_seed_style(data: Path, epochs: int, image_size: int, seed: int, log) -> tuple[object, dict]:
    import keras
    from tensorflow.keras.preprocessing.image import ImageDataGenerator

    from catsdogs.env import set_seeds

    set_seeds(seed)
    s = SEED_STYLE
    flow = {"target_size": (image_size, image_size), "batch_size": s["batch_size"], "class_mode": "binary",
            "interpolation": s["interpolation"]}
    with contextlib.redirect_stdout(io.StringIO()):
        train = ImageDataGenerator(rescale=1 / 255, **s["augmentation"]).flow_from_directory(
            data / "train", shuffle=True, seed=seed, **flow)
        validation = ImageDataGenerator(rescale=1 / 255).flow_from_directory(data / "validation", shuffle=False, **flow)
    model = build_model(False, image_size, dropout=s["dropout"])  # the classic model, filters 32/64/128/128
    model.compile(keras.optimizers.RMSprop(s["learning_rate"]), "binary_crossentropy", metrics=["accuracy"])
    epoch_log = EpochLog()
    start = time.perf_counter()
    model.fit(train, epochs=epochs, validation_data=validation, verbose=0, callbacks=[epoch_log.callback])
    seconds = time.perf_counter() - start
    log(f"seed-style: {epochs} epochs in {seconds / 60:.1f} min, "
        f"final validation accuracy {epoch_log.epochs[-1]['val_accuracy']:.3f}")
    config = {"image_size": [image_size, image_size], "rescale": 1 / 255, "interpolation": s["interpolation"],
              "class_indices": train.class_indices}
    return model, {"settings": {**s, "image_size": image_size, "epochs": epochs, "seed": seed},
                   "seconds_total": round(seconds, 1), "epochs": epoch_log.epochs, "data_config": config}


def train_default(data: Path, work: Path, seed: int, tiny: bool, epochs: int | None, log) -> tuple[object, dict]:
    """Notebooks 01-03 with their default parameters (``quick`` profile in tiny mode), into ``work``."""
    from catsdogs import artifacts, tutorial
    from catsdogs.paths import workspace

    args = ["--workdir", str(work), "--output-dir", str(work / "notebooks"), "--only", "01", "02", "03",
            "-p", "01_data.data_source", str(data), "-p", "seed", str(seed)]
    if tiny:
        args.append("--quick")
    if epochs is not None:
        args += ["-p", "03_training.epochs", str(epochs)]
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        code = tutorial.main(args)
    if code != 0:
        raise RuntimeError("the notebooks failed:\n" + printed.getvalue())
    wall = time.perf_counter() - start
    ws = workspace(work)
    history = artifacts.load_json(ws.results / "history.json")
    config = artifacts.load_data_config(ws)
    model = artifacts.load_model(ws.models / "final.keras")
    parameters = {stem: tutorial.parameters_for(Path(f"{stem}.ipynb"), "quick" if tiny else None, None, {})
                  for stem in ("01_data", "02_model", "03_training")}
    seconds = history["summary"]["seconds_total"]
    log(f"default: {len(history['epochs'])} epochs in {seconds / 60:.1f} min of training "
        f"({wall / 60:.1f} min for notebooks 01-03), final validation accuracy "
        f"{history['summary']['final_val_accuracy']:.3f}")
    return model, {"settings": {"notebook_defaults": True, "profile_overrides": parameters, "seed": seed,
                                "image_size": config["image_size"][0], "batch_size": config["batch_size"],
                                "augmentation": config["augmentation"],
                                "colour_augmentation": config.get("colour_augmentation", {}),
                                "interpolation": config["interpolation"]},
                   "seconds_total": seconds, "seconds_notebooks_01_03": round(wall, 1),
                   "epochs": history["epochs"], "summary": history["summary"], "data_config": config}


def warm_latency(model, data_config: dict, photo: Path, calls: int) -> dict:
    """Median milliseconds of warm single-image predictions: JPEG file to answer, and the model alone."""
    import numpy as np
    from PIL import Image

    from catsdogs.predict import Predictor

    predictor = Predictor(model, data_config)
    x = predictor.preprocess(photo)[np.newaxis]

    def median_ms(call) -> float:
        for _ in range(3):
            call()
        times = []
        for _ in range(calls):
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
        return round(1000 * statistics.median(times), 1)

    return {"file_to_answer_ms": median_ms(lambda: predictor.predict(photo)),
            "model_only_ms": median_ms(lambda: predictor.predict_arrays(x)),
            "model_call_eager_ms": median_ms(lambda: np.asarray(model(x, training=False))),
            "calls": calls, "photo_pixels": list(Image.open(photo).size)}


def summarise(run: dict) -> dict:
    accuracies = [e["val_accuracy"] for e in run["epochs"]]
    seconds = [e["seconds"] for e in run["epochs"]]
    return {"final_val_accuracy": round(accuracies[-1], 4), "best_val_accuracy": round(max(accuracies), 4),
            "best_epoch": accuracies.index(max(accuracies)) + 1, "epochs": len(accuracies),
            "seconds_total": run["seconds_total"], "seconds_per_epoch_median": round(statistics.median(seconds), 1)}


def make_figure(results: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = (("seed_style", "seed-style (classic, 150 px, RMSprop)", "tab:gray"),
            ("default", "this tutorial's default", "tab:green"))
    fig, (ax_acc, ax_time) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [3, 2]})
    for key, label, colour in runs:
        epochs = results[key]["epochs"]
        ax_acc.plot([e["epoch"] for e in epochs], [e["val_accuracy"] for e in epochs], "o-", ms=3, color=colour,
                    label=f"{label}: final {results[key]['summary']['final_val_accuracy']:.3f}")
    ax_acc.set(xlabel="epoch", ylabel="validation accuracy", title="Validation accuracy per epoch")
    ax_acc.grid(alpha=0.3)
    ax_acc.legend(fontsize=8)
    minutes = [results[key]["summary"]["seconds_total"] / 60 for key, _, _ in runs]
    ax_time.barh([0, 1], minutes, color=[c for _, _, c in runs])
    for y, m in enumerate(minutes):
        ax_time.text(m, y, f" {m:.1f} min", va="center", fontsize=9)
    ax_time.set_yticks([0, 1], ["seed-style", "default"])
    ax_time.set(xlabel="minutes of training", title=f"Training time: default {results['speedup']:.2f}× faster")
    ax_time.margins(x=0.3)
    fig.suptitle(results["hardware_line"], fontsize=8, y=0.01, va="bottom")
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.seed_vs_default", description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", help="where results/ and figures/ go and notebook 01 put the data "
                        "(default: $CATSDOGS_WORKDIR or the repository)")
    parser.add_argument("--data", help="a folder with train/ and validation/ "
                        "(default: <workdir>/data/cats_and_dogs_filtered)")
    parser.add_argument("--tiny", action="store_true", help="generated images, one epoch, small images")
    parser.add_argument("--epochs", type=int, help="epochs for both (default: notebook 03's; tiny: 1)")
    parser.add_argument("--seed", type=int, help="the default run's seed (default: the notebooks' seed + 1, "
                        "so another seed than the committed run's)")
    parser.add_argument("--output", help="default: <workdir>/results/seed_vs_default.json")
    parser.add_argument("--figure", help="default: <workdir>/figures/seed_vs_default.png")
    args = parser.parse_args(argv)

    log = clock_log()
    began = time.perf_counter()
    load_start = load_average()
    from catsdogs import artifacts, paths
    from catsdogs.env import quiet_tensorflow

    quiet_tensorflow()
    defaults = tutorial_defaults()
    seed = defaults.seed + 1 if args.seed is None else args.seed

    scratch = Path(tempfile.mkdtemp(prefix="catsdogs-seed-vs-default-"))
    try:
        ws = paths.workspace(args.workdir)
        data = data_folder(args.data, args.tiny, ws, scratch, train=8, validation=4, size=80)
        if data is None:
            return 2
        epochs = args.epochs or (1 if args.tiny else defaults.epochs)
        hardware, software = describe_machine()
        log(hardware_line(hardware, software) + f"; {epochs} epochs each")

        # the default first: its accuracy is what one waits for; the classic run only confirms the literature
        default_model, default_run = train_default(data, scratch / "default", seed, args.tiny,
                                                   args.epochs if args.epochs else None, log)
        seed_model, seed_run = train_seed_style(data, epochs, 48 if args.tiny else SEED_STYLE["image_size"],
                                                 defaults.seed, log)
        photo = sorted((data / "validation").rglob("*.jpg"))[0]
        calls = 5 if args.tiny else 50
        for run, model in ((seed_run, seed_model), (default_run, default_model)):
            run["summary"] = summarise(run)
            run["latency"] = warm_latency(model, run.pop("data_config"), photo, calls)
            log(f"latency: {run['latency']}")
        speedup = seed_run["summary"]["seconds_total"] / default_run["summary"]["seconds_total"]
        results = {
            "schema": SCHEMA_VERSION, "mode": "tiny" if args.tiny else "full",
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "hardware": hardware, "software": software,
            "hardware_line": hardware_line(hardware, software),
            "data": "generated images" if args.tiny and not args.data else data.name,
            "seed_style": seed_run, "default": default_run, "speedup": round(speedup, 2),
            "accuracy_gain": {
                key: round(default_run["summary"][key] - seed_run["summary"][key], 4)
                for key in ("final_val_accuracy", "best_val_accuracy")
            },
            "load_average": {"start": load_start, "end": load_average()},
            "duration_s": round(time.perf_counter() - began, 1),
        }
        output = Path(args.output) if args.output else ws.results / "seed_vs_default.json"
        figure = Path(args.figure) if args.figure else ws.figures / "seed_vs_default.png"
        artifacts.save_json(output, results)
        make_figure(results, figure)
        log(f"default is {speedup:.2f}× faster; wrote {output} and {figure}")
        print(json.dumps({k: results[k] for k in ("speedup", "accuracy_gain")}
                         | {k: results[k]["summary"] for k in ("seed_style", "default")}, indent=1))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
