"""Training steps: seconds per step of notebook 02's model, with and without batch normalisation, by feed.

Each configuration is a model (``common.build_model``), an image size and a feed: the same batch again and
again from memory (pure computation), ImageDataGenerator (notebook 01/03, with notebook 03's worker threads)
or the cached tf.data pipeline (notebook 06). Also the machine's matmul peak and the models' FLOPs, to say
what fraction of the peak a step reaches.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .common import build_model, compile_model
from .pipelines import augmentation_layers, fill_cache, idg_iterator, tfdata_pipeline

if TYPE_CHECKING:
    from .benchmark import Settings


def analytic_forward_flops(model) -> int:
    """Multiply-adds ×2 of the Conv2D and Dense layers for one image (bias, BN, ReLU, pooling left out)."""
    from keras import layers

    flops = 0
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            kh, kw = layer.kernel_size
            flops += 2 * h * w * c_out * kh * kw * layer.input.shape[-1]
        elif isinstance(layer, layers.Dense):
            flops += 2 * layer.input.shape[-1] * layer.units
    return int(flops)


def profiler_forward_flops(model, size: int) -> int | None:
    """TensorFlow's own count of the forward pass's float operations for one image (all ops), or None."""
    try:
        import tensorflow as tf
        from tensorflow.python.profiler import model_analyzer, option_builder

        fn = tf.function(lambda x: model(x, training=False))
        graph = fn.get_concrete_function(tf.TensorSpec((1, size, size, 3), tf.float32)).graph
        options = (option_builder.ProfileOptionBuilder(option_builder.ProfileOptionBuilder.float_operation())
                   .with_empty_output().build())
        return int(model_analyzer.profile(graph, options=options).total_float_ops)
    except Exception:  # noqa: BLE001  (private API: a cross-check only)
        return None


def measure_matmul(s: Settings, log: Callable[[str], None]) -> dict:
    """Dense float32 FLOP/s of this machine: the peak the training steps are compared with."""
    import tensorflow as tf

    results = {}
    for n in s.matmul_sizes:
        a = tf.random.normal((n, n), seed=1)
        b = tf.random.normal((n, n), seed=2)
        tf.matmul(a, b).numpy()  # warm-up
        best = math.inf
        for _ in range(s.matmul_repeats):
            start = time.perf_counter()
            tf.matmul(a, b).numpy()
            best = min(best, time.perf_counter() - start)
        results[str(n)] = round(2 * n**3 / best / 1e9, 1)
        log(f"  matmul {n}×{n} float32: {results[str(n)]} GFLOP/s (best of {s.matmul_repeats})")
    return {"gflops_by_size": results, "peak_gflops": max(results.values()), "dtype": "float32",
            "method": f"tf.matmul of two n×n matrices, 2n³ FLOPs, best of {s.matmul_repeats} after a warm-up"}


class StepTimer:
    """A Keras callback that records the time between consecutive batch ends (data wait included)."""

    def __init__(self):
        import keras

        outer = self

        class _Callback(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                outer.ends = []

            on_test_begin = on_train_begin

            def on_train_batch_end(self, batch, logs=None):
                if logs and "loss" in logs:
                    float(logs["loss"])  # the step is finished once its loss is a number
                outer.ends.append(time.perf_counter())

            on_test_batch_end = on_train_batch_end

        self.callback = _Callback()
        self.ends: list[float] = []

    def durations(self) -> list[float]:
        return [b - a for a, b in zip(self.ends, self.ends[1:])]


@dataclass
class Config:
    """One timed configuration: model, image size and feed; filled with its model, data and samples."""

    name: str
    batch_norm: bool
    size: int
    feed: str  # memory | idg | idg_workersN | tfdata | tfdata_in_model
    jit_compile: bool = False
    model: object = None
    train_data: object = None
    eval_data: object = None
    eval_feed: str | None = None
    train_samples: list = field(default_factory=list)
    eval_samples: list = field(default_factory=list)


def make_feed(config: Config, data: Path, s: Settings):
    """(training data, validation data) for ``fit``/``evaluate`` for the configuration's feed."""
    import numpy as np
    import tensorflow as tf

    size = config.size
    if config.feed == "memory":
        rng = np.random.default_rng(s.seed)
        x = rng.random((s.batch_size, size, size, 3), dtype=np.float32)
        y = (np.arange(s.batch_size) % 2).astype("float32")
        one = tf.data.Dataset.from_tensors((x, y)).repeat()
        return (lambda: one), (lambda: one)
    if config.feed.startswith("idg"):
        workers = int(config.feed.removeprefix("idg_workers")) if config.feed != "idg" else 1
        return ((lambda: idg_iterator(data / "train", s, size, True, workers=workers)),
                (lambda: idg_iterator(data / "validation", s, size, False, workers=workers, shuffle=False)))
    in_model = config.feed == "tfdata_in_model"
    train = tfdata_pipeline(data / "train", s, size, augment=not in_model, rescale=not in_model).repeat()
    if in_model:  # timed for training only
        return (lambda: train), None
    val = tfdata_pipeline(data / "validation", s, size, augment=False, training=False)
    fill_cache(val)
    return (lambda: train), (lambda: val.repeat())


def run_steps(config: Config, steps: int, evaluate: bool) -> list[float]:
    """Run ``steps + 1`` steps; the times of the last ``steps`` (the first one waits for a fresh pipeline)."""
    import tensorflow as tf

    timer = StepTimer()
    if evaluate:
        config.model.evaluate(config.eval_data(), steps=steps + 1, verbose=0, callbacks=[timer.callback])
    else:
        data = config.train_data()
        config.model.fit(data, steps_per_epoch=steps + 1, epochs=1, verbose=0, callbacks=[timer.callback],
                         shuffle=not isinstance(data, tf.data.Dataset))  # IDG: shuffle the batch order, like fit's default
    return timer.durations()


def training_configs(s: Settings) -> list[Config]:
    """Every configuration timed: per architecture in memory (XLA, other sizes) and by each feed."""
    base, sizes = s.image_size, s.other_sizes
    threads = f"idg_workers{s.workers}"  # notebook 03's generator threads
    configs: list[Config] = []
    for bn in s.architectures:
        arch = "batchnorm" if bn else "classic"
        configs.append(Config(f"{arch}_{base}_memory", bn, base, "memory", eval_feed="memory"))
        if s.xla:
            configs.append(Config(f"{arch}_{base}_memory_xla", bn, base, "memory", jit_compile=True))
        for size in sizes:
            configs.append(Config(f"{arch}_{size}_memory", bn, size, "memory"))
        configs.append(Config(f"{arch}_{base}_idg", bn, base, "idg", eval_feed="idg"))
        if s.workers > 1:
            configs.append(Config(f"{arch}_{base}_{threads}", bn, base, threads, eval_feed=threads))
        configs.append(Config(f"{arch}_{base}_tfdata", bn, base, "tfdata", eval_feed="tfdata"))
    # augmentation inside the model, and the other sizes with the classic model fed by ImageDataGenerator:
    # what a whole run with ImageDataGenerator would take
    configs.append(Config(f"batchnorm_{base}_tfdata_in_model", True, base, "tfdata_in_model"))
    for size in sizes if s.small_sizes_fed_by_idg else ():
        configs.append(Config(f"classic_{size}_idg", False, size, "idg", eval_feed="idg"))
    return configs


def measure_training(data: Path, s: Settings, peak_gflops: float, log: Callable[[str], None]) -> dict:
    """Median seconds per training and evaluation step of each configuration, rounds interleaved; epoch estimates."""
    import keras

    configs = training_configs(s)
    # Pipelines are built once per feed and image size (the tf.data caches are filled once), and one model
    # serves every feed with the same architecture, size and compile options: fewer traces, same step.
    feeds: dict[tuple, tuple] = {}
    models: dict[tuple, object] = {}
    keras.utils.set_random_seed(s.seed)
    start = time.perf_counter()
    for c in configs:
        key = (c.feed, c.size)
        if key not in feeds:
            feeds[key] = make_feed(c, data, s)
        c.train_data, c.eval_data = feeds[key]
        in_model = c.feed == "tfdata_in_model"
        key = (c.batch_norm, c.size, c.jit_compile, in_model)
        if key not in models:
            augmentation = augmentation_layers(s.augmentation, s.seed) if in_model else None
            models[key] = compile_model(build_model(c.batch_norm, c.size, augmentation), c.jit_compile)
        c.model = models[key]
        t0 = time.perf_counter()
        run_steps(c, 0, evaluate=False)  # trace (and with XLA compile) the train step
        t1 = time.perf_counter()
        if c.eval_feed:
            run_steps(c, 0, evaluate=True)
        log(f"    {c.name}: first training step {t1 - t0:.1f} s, first evaluation step {time.perf_counter() - t1:.1f} s")
    log(f"  built, traced and warmed up {len(configs)} configurations in {time.perf_counter() - start:.0f} s")

    for round_ in range(s.rounds):
        for c in configs:
            c.train_samples += run_steps(c, s.train_steps, evaluate=False)
            if c.eval_feed:
                c.eval_samples += run_steps(c, s.eval_steps, evaluate=True)
        log(f"  round {round_ + 1}/{s.rounds}: " + ", ".join(
            f"{c.name} {statistics.median(c.train_samples):.2f}" for c in configs[:4]) + " … s/step")

    steps_per_epoch = math.ceil(s.train_images / s.batch_size)
    val_steps = math.ceil(s.validation_images / s.batch_size)
    flops: dict[str, dict] = {}
    results: dict[str, dict] = {}
    for c in configs:
        key = f"{'batchnorm' if c.batch_norm else 'classic'}_{c.size}"
        if key not in flops:
            plain = build_model(c.batch_norm, c.size)
            forward = analytic_forward_flops(plain)
            flops[key] = {"forward_per_image_analytic": forward,
                          "forward_per_image_tf_profiler": profiler_forward_flops(plain, c.size),
                          "train_step_per_image": 3 * forward, "train_step_per_batch": 3 * forward * s.batch_size}
        step = statistics.median(c.train_samples)
        gflops = flops[key]["train_step_per_batch"] / step / 1e9
        entry = {
            "model": "batchnorm" if c.batch_norm else "classic", "image_size": c.size, "feed": c.feed,
            "jit_compile": c.jit_compile, "step_s_median": round(step, 4),
            "step_s_samples": [round(x, 4) for x in c.train_samples],
            "images_per_s": round(s.batch_size / step, 1), "achieved_gflops": round(gflops, 1),
            "fraction_of_matmul_peak": round(gflops / peak_gflops, 3),
        }
        if c.eval_feed:
            eval_step = statistics.median(c.eval_samples)
            entry.update(eval_step_s_median=round(eval_step, 4), eval_step_s_samples=[round(x, 4) for x in c.eval_samples],
                         epoch_s_estimate=round(steps_per_epoch * step + val_steps * eval_step, 2))
        results[c.name] = entry
    return {
        "batch_size": s.batch_size, "steps_per_epoch": steps_per_epoch, "validation_steps": val_steps,
        "train_steps_timed_per_round": s.train_steps, "eval_steps_timed_per_round": s.eval_steps, "rounds": s.rounds,
        "step_time": "time between consecutive batch ends in fit (data wait included), median over rounds",
        "epoch_estimate": "steps_per_epoch × median training step + validation_steps × median evaluation step",
        "flop_count": "Conv2D + Dense multiply-adds × 2 per image (analytic); a training step ≈ 3 × forward "
                      "(forward, gradients with respect to inputs and to weights)",
        "flops": flops, "configs": results,
    }
