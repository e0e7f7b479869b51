"""Many short accuracy experiments at once, on a GPU machine without TensorFlow: Keras 3 on its JAX backend.

``accuracy_variants.py`` runs one 25-epoch training at a time on the CPU (about 15 minutes each). This script
runs the same training, many settings and seeds side by side, on a machine with a GPU and many cores, where
only Keras (and JAX, or PyTorch, as its backend) is needed:

    # here: the photos, decoded and shrunk exactly as notebook 01 does, packed losslessly (WebP) into one file
    .venv/bin/python benchmarks/gpu_sweep.py pack --data data/cats_and_dogs_filtered --size 96 --output pack96.npz
    # there (KERAS_BACKEND=jax): every run of runs.json, 14 at a time, none started after 290 s
    python benchmarks/gpu_sweep.py sweep runs.json out/ --pack pack96.npz --parallel 14 --deadline 290
    python benchmarks/gpu_sweep.py steps out/steps.json       # training-step time per photo, synthetic batches
    # here: every sweep's runs, grouped by setting, into results/gpu_sweep.json
    .venv/bin/python benchmarks/gpu_sweep.py summarise out1/summary.json out2/summary.json --steps out/steps.json

``runs.json`` is a list of settings, each with a ``name`` (runs of one name, with different seeds, are
averaged) and the keys of ``SETTINGS`` it changes. One run is notebook 02's model trained as notebook 03
trains it: ``ImageDataGenerator.flow`` on the photos held in memory (as ``accuracy_variants.py``), a cosine
schedule, 25 epochs. A GPU's and a CPU's numbers for one seed differ (other kernels, other order of random
draws), so only averages over seeds compare; each setting's spread over seeds is in the results.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from benchmark import build_model, warmup_cosine  # noqa: E402  (standard library only at import time)

AUGMENTATIONS = {
    "light": {"rotation_range": 15, "width_shift_range": 0.1, "height_shift_range": 0.1, "zoom_range": 0.15,
              "horizontal_flip": True},  # notebook 01's earlier default
    "lighter": {"rotation_range": 10, "width_shift_range": 0.08, "height_shift_range": 0.08, "zoom_range": 0.1,
                "horizontal_flip": True},  # notebook 01's default since this sweep
    "lightest": {"rotation_range": 5, "width_shift_range": 0.05, "height_shift_range": 0.05, "zoom_range": 0.1,
                 "horizontal_flip": True},
    "medium": {"rotation_range": 25, "width_shift_range": 0.15, "height_shift_range": 0.15, "zoom_range": 0.2,
               "horizontal_flip": True},
    "light_shear": {"rotation_range": 15, "width_shift_range": 0.1, "height_shift_range": 0.1, "zoom_range": 0.15,
                    "shear_range": 0.1, "horizontal_flip": True},
    "none": {},
}
SETTINGS = {"size": 96, "filters": "32,64,128,128", "head": "flatten", "padding": "valid", "dropout": 0.5,
            "learning_rate": 1e-3, "batch_size": 16, "epochs": 25, "seed": 42, "augmentation": "light",
            "optimizer": "adam", "weight_decay": 0.0, "label_smoothing": 0.0, "warmup": 0,
            "placement": "after_pool", "momentum": 0.9, "dense_bn": False, "conv_dropout": 0.0}
OPTIMIZERS = ("adam", "nadam", "sgd", "rmsprop")


def settings_of(run: dict) -> dict:
    """A run's full settings: ``SETTINGS`` with the run's changes; unknown keys and values are refused."""
    unknown = set(run) - set(SETTINGS) - {"name"}
    if unknown:
        raise SystemExit(f"error: unknown setting(s) {sorted(unknown)}; known: {', '.join(SETTINGS)}")
    s = {**SETTINGS, **run}
    if s["augmentation"] not in AUGMENTATIONS or s["optimizer"] not in OPTIMIZERS:
        raise SystemExit(f"error: augmentation must be one of {', '.join(AUGMENTATIONS)}, "
                         f"optimizer one of {', '.join(OPTIMIZERS)}")
    return s


def pack(data: Path, size: int, output: Path) -> None:
    """Decode every photo once as notebook 01 does and store it losslessly (WebP) in one ``.npz`` file."""
    import numpy as np
    from accuracy_variants import load_split
    from PIL import Image

    arrays = {}
    for split, folder in (("train", "train"), ("val", "validation")):
        images, labels = load_split(data / folder, size)
        blobs = []
        for image in images:
            buffer = io.BytesIO()
            Image.fromarray(image).save(buffer, "WEBP", lossless=True, method=4)
            blobs.append(buffer.getvalue())
        arrays[f"{split}_bytes"] = np.frombuffer(b"".join(blobs), dtype=np.uint8)
        arrays[f"{split}_len"] = np.array([len(b) for b in blobs])
        arrays[f"y_{split}"] = labels
    temporary = output.with_name(output.name + ".partial.npz")
    np.savez(temporary, **arrays)
    os.replace(temporary, output)  # whole or not at all


def unpack(path: Path) -> dict:
    import numpy as np
    from PIL import Image

    packed = np.load(path)
    out = {}
    for split in ("train", "val"):
        blob, lengths = packed[f"{split}_bytes"].tobytes(), packed[f"{split}_len"]
        ends = np.cumsum(lengths)
        out[f"x_{split}"] = np.stack([np.array(Image.open(io.BytesIO(blob[end - n:end])).convert("RGB"))
                                      for n, end in zip(lengths, ends)])
        out[f"y_{split}"] = packed[f"y_{split}"]
    return out


def build(s: dict):
    """Notebook 02's network with this run's settings (``benchmark.build_model``)."""
    return build_model(True, s["size"], dropout=s["dropout"], placement=s["placement"], momentum=s["momentum"],
                       filters=tuple(int(n) for n in s["filters"].split(",")), head=s["head"], padding=s["padding"],
                       conv_dropout=s["conv_dropout"], dense_bn=s["dense_bn"])


def optimizer(s: dict):
    import keras

    decay = s["weight_decay"] or None
    return {"adam": lambda: keras.optimizers.Adam(s["learning_rate"], weight_decay=decay),
            "nadam": lambda: keras.optimizers.Nadam(s["learning_rate"], weight_decay=decay),
            "rmsprop": lambda: keras.optimizers.RMSprop(s["learning_rate"], weight_decay=decay),
            "sgd": lambda: keras.optimizers.SGD(s["learning_rate"], momentum=0.9, nesterov=True, weight_decay=decay),
            }[s["optimizer"]]()


def train_one(s: dict, pack_file: Path) -> dict:
    """One training run; returns every epoch's numbers, the last and best validation accuracy."""
    import keras
    from keras.src.legacy.preprocessing.image import ImageDataGenerator  # what tf.keras' ImageDataGenerator is

    keras.utils.set_random_seed(s["seed"])
    d = unpack(pack_file)
    batches = ImageDataGenerator(rescale=1 / 255, **AUGMENTATIONS[s["augmentation"]]).flow(
        d["x_train"].astype("float32"), d["y_train"], batch_size=s["batch_size"], seed=s["seed"])
    model = build(s)
    model.compile(optimizer(s), keras.losses.BinaryCrossentropy(label_smoothing=s["label_smoothing"]),
                  metrics=["accuracy"])

    rows: list[dict] = []

    class Record(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            rows.append({"epoch": epoch + 1, "seconds": round(time.perf_counter() - self.start, 2),
                         **{k: round(float(logs[k]), 4) for k in ("accuracy", "loss", "val_accuracy", "val_loss")}})

    start = time.perf_counter()
    x_val, y_val = d["x_val"].astype("float32") / 255, d["y_val"]
    model.fit(batches, validation_data=(x_val, y_val), epochs=s["epochs"], verbose=0,
              callbacks=[keras.callbacks.LearningRateScheduler(warmup_cosine(s["learning_rate"], s["epochs"], s["warmup"])),
                         Record()])
    plain = model.predict(x_val, verbose=0)[:, 0]
    mirrored = model.predict(x_val[:, :, ::-1], verbose=0)[:, 0]
    return {"settings": s, "backend": keras.backend.backend(), "seconds": round(time.perf_counter() - start, 1),
            "final": rows[-1]["val_accuracy"], "best": max(r["val_accuracy"] for r in rows),
            "flip": float((((plain + mirrored) / 2 > 0.5) == (y_val == 1)).mean()),
            "train_acc": rows[-1]["accuracy"], "epochs": rows}


def sweep(runs_file: Path, outdir: Path, pack_file: Path, parallel: int, deadline: float) -> list[dict]:
    """Every run in its own process, ``parallel`` at a time; none starts after ``deadline`` seconds."""
    runs = json.loads(runs_file.read_text())
    for run in runs:
        settings_of(run)  # refuse a bad file before anything starts
    (outdir / "runs").mkdir(parents=True, exist_ok=True)
    start, queue, running, done = time.time(), list(enumerate(runs)), {}, []
    while queue or running:
        while queue and len(running) < parallel and time.time() - start < deadline:
            i, run = queue.pop(0)
            result, log = outdir / "runs" / f"{i:03d}.json", outdir / "runs" / f"{i:03d}.log"
            with log.open("w") as out:
                process = subprocess.Popen([sys.executable, __file__, "one", json.dumps(run), str(result),
                                            "--pack", str(pack_file)], stdout=out, stderr=out)
            running[i] = (process, result, run)
        if time.time() - start >= deadline:
            queue = []
        for i, (process, result, run) in list(running.items()):
            if process.poll() is None:
                continue
            del running[i]
            if result.exists():
                r = json.loads(result.read_text())
                done.append({"i": i, "config": run, **{k: r[k] for k in ("final", "best", "flip", "train_acc", "seconds")},
                             "curve": [e["val_accuracy"] for e in r["epochs"]]})
                print(f"[{time.time() - start:5.0f}s] #{i} {run}: final {r['final']:.3f} best {r['best']:.3f}", flush=True)
            else:
                print(f"#{i} {run} FAILED (exit {process.returncode}):\n"
                      f"{(outdir / 'runs' / f'{i:03d}.log').read_text()[-1500:]}", flush=True)
        time.sleep(0.5)
    (outdir / "summary.json").write_text(json.dumps(done))
    return done


def step_times(output: Path, repeats: int = 7, steps: int = 50, warmup: int = 20) -> dict:
    """Median training-step time per photo on synthetic batches, for the seed-style and the tutorial models."""
    import keras
    import numpy as np

    variants = {"classic_150_b32": {"placement": "none", "size": 150, "batch_size": 32, "optimizer": "rmsprop",
                                    "learning_rate": 1e-4},
                "bn_pool_bn_relu_96_b16": {"placement": "pool_bn_relu", "optimizer": "nadam", "learning_rate": 2e-3},
                "bn_after_pool_96_b16": {"placement": "after_pool"}}
    results = {}
    for name, change in variants.items():
        s = settings_of(change)
        model = build(s)
        model.compile(optimizer(s), "binary_crossentropy", metrics=["accuracy"])
        rng = np.random.default_rng(0)
        x = rng.random((s["batch_size"], s["size"], s["size"], 3), dtype="float32")
        y = (rng.random(s["batch_size"]) > 0.5).astype("float32")
        for _ in range(warmup):
            model.train_on_batch(x, y)
        times = []
        for _ in range(repeats):
            begin = time.perf_counter()
            for _ in range(steps):
                model.train_on_batch(x, y)
            keras.ops.convert_to_numpy(model.trainable_weights[0].value)  # waits for the device
            times.append((time.perf_counter() - begin) / steps)
        median = statistics.median(times)
        results[name] = {**change, "step_s_median": median, "ms_per_image": 1000 * median / s["batch_size"]}
        print(f"{name}: {1000 * median:.2f} ms per step, {results[name]['ms_per_image']:.3f} ms per photo", flush=True)
    output.write_text(json.dumps({"backend": keras.backend.backend(), "variants": results}, indent=1))
    return results


def summarise(summaries: list[Path], steps: Path | None, alone: Path | None, machine: str) -> dict:
    """All runs of all sweeps, and per setting name: seeds, mean, spread, min and max of the last epoch."""
    runs = [run for path in summaries for run in json.loads(path.read_text())]
    groups: dict[str, list[dict]] = {}
    for run in runs:
        groups.setdefault(run["config"]["name"], []).append(run)
    settings = {}
    for name, members in groups.items():
        finals = [m["final"] for m in members]
        change = {k: v for k, v in members[0]["config"].items() if k not in ("name", "seed")}
        settings[name] = {"change": change, "seeds": sorted(m["config"]["seed"] for m in members),
                          "final_mean": round(statistics.mean(finals), 4),
                          "final_sd": round(statistics.stdev(finals), 4) if len(finals) > 1 else None,
                          "final_min": min(finals), "final_max": max(finals),
                          "best_mean": round(statistics.mean(m["best"] for m in members), 4),
                          "train_accuracy_mean": round(statistics.mean(m["train_acc"] for m in members), 4)}
    out = {"schema": 1, "machine": machine, "backend": "Keras 3 with the JAX backend; that machine has no TensorFlow",
           "method": "notebook 02's model trained as notebook 03 trains it, 25 epochs, photos in memory, "
                     "ImageDataGenerator.flow; 14 runs at a time on one GPU; changes are against SETTINGS",
           "defaults": SETTINGS, "settings": dict(sorted(settings.items(), key=lambda kv: -kv[1]["final_mean"])),
           "runs": runs}
    if steps:
        out["step_times"] = json.loads(steps.read_text())
    if alone:
        r = json.loads(alone.read_text())
        out["alone"] = {"settings": r["settings"], "seconds": r["seconds"], "final": r["final"],
                        "epoch_seconds_median": statistics.median(e["seconds"] for e in r["epochs"])}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack", help="decode the photos as notebook 01 does, into one lossless file")
    p.add_argument("--data", required=True, help="a folder with train/ and validation/")
    p.add_argument("--size", type=int, default=96)
    p.add_argument("--output", required=True)
    p = sub.add_parser("one", help="one run (what sweep starts in each process)")
    p.add_argument("settings", help="JSON: the changes to SETTINGS")
    p.add_argument("output")
    p.add_argument("--pack", required=True)
    p = sub.add_parser("sweep", help="every run of a JSON list, in parallel processes")
    p.add_argument("runs")
    p.add_argument("outdir")
    p.add_argument("--pack", required=True)
    p.add_argument("--parallel", type=int, default=14)
    p.add_argument("--deadline", type=float, default=290, help="seconds after which no run starts")
    p = sub.add_parser("steps", help="training-step time per photo")
    p.add_argument("output")
    p.add_argument("--repeats", type=int, default=7, help="timed repeats; the median is kept")
    p.add_argument("--steps", type=int, default=50, help="training steps per repeat")
    p.add_argument("--warmup", type=int, default=20, help="untimed steps first (compilation)")
    p = sub.add_parser("summarise", help="sweeps' summary.json files into one results file")
    p.add_argument("summaries", nargs="+")
    p.add_argument("--steps")
    p.add_argument("--alone", help="one run's JSON, run alone on the machine: its time per epoch")
    p.add_argument("--machine", default="one NVIDIA H100 80GB, 16 CPU cores")
    p.add_argument("--output", default=str(HERE.parent / "results" / "gpu_sweep.json"))
    args = parser.parse_args(argv)

    if args.command == "pack":
        pack(Path(args.data), args.size, Path(args.output))
    elif args.command == "one":
        result = train_one(settings_of(json.loads(args.settings)), Path(args.pack))
        Path(args.output).write_text(json.dumps(result))
    elif args.command == "sweep":
        sweep(Path(args.runs), Path(args.outdir), Path(args.pack), args.parallel, args.deadline)
    elif args.command == "steps":
        step_times(Path(args.output), args.repeats, args.steps, args.warmup)
    else:
        result = summarise([Path(s) for s in args.summaries], args.steps and Path(args.steps),
                           args.alone and Path(args.alone), args.machine)
        output = Path(args.output)
        temporary = output.with_name(output.name + ".partial")
        temporary.write_text(json.dumps(result, indent=1) + "\n")
        os.replace(temporary, output)
        for name, g in result["settings"].items():
            print(f"{name:28s} {len(g['seeds'])} seeds: {g['final_mean']:.3f} (min {g['final_min']:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
