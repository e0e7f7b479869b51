"""Accuracy experiments: the tutorial's training with one setting changed, 25 epochs, photos held in memory.

    .venv/bin/python benchmarks/accuracy_variants.py --name gap --set head=gap
    .venv/bin/python benchmarks/accuracy_variants.py --name narrow128 --set size=128 --set filters=16,32,64,128
    .venv/bin/python benchmarks/accuracy_variants.py --tiny      # generated images, two epochs: checks it works

Each photo is decoded and shrunk once, exactly as notebook 01's generators do it (``load_img`` with the
same size and interpolation), and kept in memory; ``ImageDataGenerator.flow`` then augments it, so the
pixels and the augmentation are the notebooks', only the order of the random draws differs. The model is
notebook 02's, trained as notebook 03 trains it (Adam, cosine schedule). The settings a run can change, and
their defaults: the notebooks' defaults when these experiments began, which every recorded run is compared
with. Since then the notebooks have adopted ``placement pool_bn_relu`` (from this script), and a learning
rate of 2e-3, Nadam and a lighter augmentation (from ``gpu_sweep.py``, which ran many seeds on a GPU).

    size 96 · filters 32,64,128,128 · head flatten (or gap) · padding valid (or same) · dropout 0.5
    learning_rate 1e-3 · batch_size 16 · epochs 25 · seed 42 · augmentation light (or flipzoom, medium, none)
    optimizer adam (or sgd: momentum 0.9, Nesterov) · weight_decay 0 (Keras' decoupled decay) · label_smoothing 0
    placement after_pool (or before_relu: Conv → BN → ReLU → pool, the usual place, dearer per step; or
    pool_bn_relu: Conv → pool → BN → ReLU, BN before the ReLU at the pooled size, as cheap as after_pool)
    warmup 0 (epochs of linearly rising learning rate before the cosine) · ema 0 (the optimiser's moving average
    of the weights, e.g. 0.99, validated each epoch with the averaged weights; 0 = off)

Results go into ``results/accuracy_variants.json``, one entry per ``--name`` (a later run of the same name
replaces it): the settings, every epoch's numbers, the last epoch's and the best validation accuracy, and
the final model's accuracy when each photo's answer is averaged with its mirror image's (for comparison
only: notebook 03's metric is the plain one). This answers "does this change help?" quickly; a change that
helps must then be made in the notebooks, and only a full run of them counts as the tutorial's result.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from benchmark import build_model, data_folder, describe_machine, hardware_line, warmup_cosine  # noqa: E402

from catsdogs.tutorial import CLASSROOM_PARAMETERS  # noqa: E402

SCHEMA_VERSION = 1

AUGMENTATIONS = {
    "light": {"rotation_range": 15, "width_shift_range": 0.1, "height_shift_range": 0.1, "zoom_range": 0.15,
              "horizontal_flip": True},  # notebook 01's default
    "flipzoom": CLASSROOM_PARAMETERS["01_data"]["augmentation"],  # the classroom profile's
    "medium": {"rotation_range": 25, "width_shift_range": 0.15, "height_shift_range": 0.15, "zoom_range": 0.2,
               "horizontal_flip": True},
    "none": {},
}

DEFAULTS = {"size": 96, "filters": "32,64,128,128", "head": "flatten", "padding": "valid", "dropout": 0.5,
            "learning_rate": 1e-3, "batch_size": 16, "epochs": 25, "seed": 42, "augmentation": "light",
            "optimizer": "adam", "weight_decay": 0.0, "label_smoothing": 0.0, "warmup": 0, "ema": 0.0,
            "placement": "after_pool"}
CHOICES = {"augmentation": tuple(AUGMENTATIONS), "optimizer": ("adam", "sgd"),
           "placement": ("after_pool", "before_relu", "pool_bn_relu")}
TINY = {"size": 48, "epochs": 2, "batch_size": 4}  # 48: the smallest size four blocks fit comfortably


def parse_settings(pairs: list[str], tiny: bool) -> dict:
    """``["size=128", "head=gap"]`` -> the full settings, each value of its default's type."""
    settings = {**DEFAULTS, **(TINY if tiny else {})}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in DEFAULTS:
            raise SystemExit(f"error: --set {pair!r}: expected one of {', '.join(DEFAULTS)} as key=value")
        settings[key] = type(DEFAULTS[key])(value)
    for key, allowed in CHOICES.items():
        if settings[key] not in allowed:
            raise SystemExit(f"error: {key} must be {' or '.join(allowed)}")
    if not 0 <= settings["warmup"] < settings["epochs"] or not 0 <= settings["ema"] < 1:
        raise SystemExit("error: warmup must be 0 to epochs - 1, and ema 0 (off) or a momentum below 1")
    return settings


def load_split(folder: Path, size: int):
    """Every photo of ``folder/<class>/``, shrunk as notebook 01 does, as uint8 arrays, and labels 0/1."""
    import numpy as np
    from tensorflow.keras.utils import img_to_array, load_img

    images, labels = [], []
    for label, name in enumerate(sorted(p.name for p in folder.iterdir() if p.is_dir())):
        for path in sorted((folder / name).iterdir()):
            photo = load_img(path, target_size=(size, size), interpolation="bilinear")
            images.append(img_to_array(photo, dtype="uint8"))
            labels.append(label)
    return np.stack(images), np.array(labels, dtype="float32")


def train(data: Path, s: dict, log) -> dict:
    import keras
    from tensorflow.keras.preprocessing.image import ImageDataGenerator

    from catsdogs import env

    env.set_seeds(s["seed"])
    x_train, y_train = load_split(data / "train", s["size"])
    x_val, y_val = load_split(data / "validation", s["size"])
    batches = ImageDataGenerator(rescale=1 / 255, **AUGMENTATIONS[s["augmentation"]]).flow(
        x_train.astype("float32"), y_train, batch_size=s["batch_size"], seed=s["seed"])
    filters = tuple(int(n) for n in s["filters"].split(","))
    model = build_model(True, s["size"], dropout=s["dropout"], placement=s["placement"], momentum=0.9,
                        filters=filters, head=s["head"], padding=s["padding"])
    extra = {"weight_decay": s["weight_decay"] or None, **({"use_ema": True, "ema_momentum": s["ema"]} if s["ema"] else {})}
    optimizer = (keras.optimizers.Adam(s["learning_rate"], **extra) if s["optimizer"] == "adam" else
                 keras.optimizers.SGD(s["learning_rate"], momentum=0.9, nesterov=True, **extra))
    loss = keras.losses.BinaryCrossentropy(label_smoothing=s["label_smoothing"])
    model.compile(optimizer, loss, metrics=["accuracy"])

    epochs: list[dict] = []

    class Record(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            row = {"epoch": epoch + 1, "seconds": round(time.perf_counter() - self.start, 2),
                   **{k: float(logs[k]) for k in ("accuracy", "loss", "val_accuracy", "val_loss")}}
            epochs.append(row)
            log(f"  epoch {row['epoch']:2d}: accuracy {row['accuracy']:.3f}, validation {row['val_accuracy']:.3f}")

    start = time.perf_counter()
    x_val = x_val.astype("float32") / 255  # scaled once: fitting and the mirror-averaged check both use it
    model.fit(batches, validation_data=(x_val, y_val), epochs=s["epochs"], verbose=0,
              callbacks=[keras.callbacks.LearningRateScheduler(warmup_cosine(s["learning_rate"], s["epochs"], s["warmup"])),
                         *([keras.callbacks.SwapEMAWeights(swap_on_epoch=True)] if s["ema"] else []), Record()])
    best = max(epochs, key=lambda row: row["val_accuracy"])
    # Test-time augmentation, for comparison only: the average of the photo's and its mirror image's answers
    plain = model.predict(x_val, verbose=0)[:, 0]
    mirrored = model.predict(x_val[:, :, ::-1], verbose=0)[:, 0]
    flip_accuracy = float((((plain + mirrored) / 2 > 0.5) == (y_val == 1)).mean())
    return {"settings": s, "parameters": model.count_params(), "seconds_total": round(time.perf_counter() - start, 1),
            "final_val_accuracy": epochs[-1]["val_accuracy"], "best_val_accuracy": best["val_accuracy"],
            "best_epoch": best["epoch"], "final_val_accuracy_flip_averaged": flip_accuracy, "epochs": epochs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--name", default="default", help="the entry in the results file (default: default)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="change one setting")
    parser.add_argument("--data", help="a folder with train/ and validation/ (default: the one notebook 01 made)")
    parser.add_argument("--workdir", help="the workspace (default: $CATSDOGS_WORKDIR or the repository)")
    parser.add_argument("--tiny", action="store_true", help="generated images, two epochs: checks the script works")
    parser.add_argument("--output", help="default: <workdir>/results/accuracy_variants.json")
    args = parser.parse_args(argv)
    settings = parse_settings(args.set, args.tiny)

    from catsdogs import artifacts, paths
    from catsdogs.env import quiet_tensorflow

    quiet_tensorflow()
    ws = paths.workspace(args.workdir)
    with tempfile.TemporaryDirectory(prefix="catsdogs-variants-") as scratch:
        data = data_folder(args.data, args.tiny, ws, Path(scratch), size=TINY["size"])
        if data is None:
            return 2
        print(f"{args.name}: {settings}", flush=True)
        result = train(data, settings, lambda line: print(line, flush=True))

    output = Path(args.output) if args.output else ws.results / "accuracy_variants.json"
    saved = artifacts.load_json(output) if output.exists() else {}
    hardware, software = describe_machine()
    saved.update({"schema": SCHEMA_VERSION, "hardware_line": hardware_line(hardware, software),
                  "method": "photos decoded once into memory, ImageDataGenerator.flow for augmentation; "
                            "notebook 02's model, notebook 03's schedule"})
    saved.setdefault("variants", {})[args.name] = {"mode": "tiny" if args.tiny else "full", **result}
    artifacts.save_json(output, saved)  # written whole or not at all
    print(f"{args.name}: last epoch {result['final_val_accuracy']:.3f}, best {result['best_val_accuracy']:.3f} "
          f"(epoch {result['best_epoch']}); wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
