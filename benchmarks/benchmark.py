"""Speed benchmark for the cats-vs-dogs tutorial: input pipelines, training steps, prediction latency.

    python benchmarks/benchmark.py                       # real data from notebook 01 (workspace: the repository)
    python benchmarks/benchmark.py --workdir /tmp/run    # the workspace notebook 01 wrote its data to
    python benchmarks/benchmark.py --tiny                # generated images, a few seconds per part: a smoke test

Every comparison is measured side by side in one run, alternatives interleaved round by round, so that a
machine shared with other work slows all of them alike; compare ratios and medians, not single numbers.
The results go to ``results/benchmark_<device>.json`` and ``figures/benchmark.png`` in the workspace (or
``--output`` / ``--figure``); both record the hardware, the software versions and the load average.
See benchmarks/README.md for what is measured and how to read it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # `python benchmarks/benchmark.py` imports this checkout's catsdogs
    sys.path.insert(0, str(REPO_ROOT))

#: The augmentation of notebook 01 (ImageDataGenerator arguments), the one the tutorial trains with.
TUTORIAL_AUGMENTATION = {
    "rotation_range": 40,
    "width_shift_range": 0.2,
    "height_shift_range": 0.2,
    "shear_range": 0.2,
    "zoom_range": 0.2,
    "horizontal_flip": True,
}
SCHEMA_VERSION = 1


@dataclass
class Settings:
    """How much to measure. ``full`` is for real numbers (about 10 minutes on 2 cores), ``tiny`` a smoke test."""

    mode: str
    image_size: int = 150
    other_sizes: tuple[int, ...] = (128, 112, 96)
    batch_size: int = 32
    matmul_sizes: tuple[int, ...] = (2048, 4096)
    matmul_repeats: int = 3
    rounds: int = 3  # every comparison is repeated this many times, interleaved
    warmup_batches: int = 3  # pipeline batches discarded before timing
    pipeline_batches: int = 16  # pipeline batches timed per round
    train_steps: int = 2  # training steps timed per round and configuration (one more runs untimed)
    eval_steps: int = 2  # evaluation (validation) steps timed per round and configuration
    architectures: tuple[bool, ...] = (False, True)  # batch_norm off (the classic model) and on
    small_sizes_fed_by_idg: bool = True  # also time other_sizes fed by ImageDataGenerator (classic model)
    xla: bool = True  # also time jit_compile=True (compiling takes a while: the tiny mode leaves it out)
    idg_threads: tuple[int, ...] = (2, 4)  # ImageDataGenerator workers (threads) besides the default 1
    idg_processes: int = 2  # ImageDataGenerator workers with use_multiprocessing=True
    latency_warm_calls: int = 40
    latency_cold_repeats: int = 2
    seed: int = 42
    train_images: int = 0  # filled in from the data
    validation_images: int = 0


def settings_for(tiny: bool) -> Settings:
    if not tiny:
        return Settings(mode="full")
    return Settings(
        mode="tiny", image_size=64, other_sizes=(48,), batch_size=4, matmul_sizes=(256,), matmul_repeats=2,
        rounds=1, warmup_batches=1, pipeline_batches=2, train_steps=2, eval_steps=1, idg_threads=(2,),
        architectures=(True,), small_sizes_fed_by_idg=False, xla=False, latency_warm_calls=3, latency_cold_repeats=1,
    )


# --------------------------------------------------------------------------- hardware and software


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if platform.system() == "Darwin":
        try:
            return subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True,
                                  check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            pass
    return platform.processor() or platform.machine()


def cpu_flags() -> list[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    match = re.search(r"^flags\s*:\s*(.*)$", text, re.MULTILINE)
    flags = set(match.group(1).split()) if match else set()
    return sorted(flags & {"avx", "avx2", "fma", "avx512f", "avx512_bf16", "amx_tile", "avx_vnni"})


def memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def describe_machine() -> tuple[dict, dict]:
    import keras
    import numpy
    import PIL
    import scipy
    import tensorflow as tf

    gpus = []
    for device in tf.config.list_physical_devices("GPU"):
        details = tf.config.experimental.get_device_details(device)
        gpus.append(details.get("device_name", device.name))
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    hardware = {
        "cpu_model": cpu_model(),
        "cpu_cores_logical": os.cpu_count(),
        "cpu_cores_usable": usable,
        "cpu_flags": cpu_flags(),
        "memory_gib": memory_gib(),
        "gpus": gpus,
        "platform": platform.platform(),
    }
    build = tf.sysconfig.get_build_info()
    software = {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "pillow": PIL.__version__,
        "cuda": build.get("cuda_version"),  # the versions TensorFlow was built with (listed even without a GPU)
        "cudnn": build.get("cudnn_version"),
        "onednn_opts": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on for x86 Linux)"),
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads() or "default (all cores)",
    }
    return hardware, software


def device_label(hardware: dict) -> str:
    """``cpu-2core-amd-epyc`` or ``gpu-nvidia-h100-80gb-hbm3``: the file name's device part."""
    if hardware["gpus"]:
        name = "gpu-" + hardware["gpus"][0]
    else:
        model = re.sub(r"\(r\)|\(tm\)|cpu|processor|@.*", "", hardware["cpu_model"], flags=re.IGNORECASE)
        name = f"cpu-{hardware['cpu_cores_usable']}core-{model}"
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def hardware_line(hardware: dict, software: dict) -> str:
    gpu = ", GPU " + " + ".join(hardware["gpus"]) if hardware["gpus"] else ", no GPU"
    return (f"{hardware['cpu_model']} ({hardware['cpu_cores_usable']} cores{gpu}) · TensorFlow "
            f"{software['tensorflow']} · Keras {software['keras']} · Python {software['python']}")


# --------------------------------------------------------------------------- data


def make_tiny_images(root: Path, train: int = 8, validation: int = 4, size: int = 96, seed: int = 0) -> Path:
    """A generated ``train/`` + ``validation/`` image set (cats: a warm disc, dogs: a cool square)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    for split, n in (("train", train), ("validation", validation)):
        for label, name in enumerate(("cats", "dogs")):
            folder = root / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                pixels = rng.integers(0, 90, size=(size, size + 16 * (i % 3), 3), dtype=np.uint8)
                yy, xx = np.mgrid[:size, :pixels.shape[1]]
                cy, cx = rng.integers(size // 4, 3 * size // 4, size=2)
                r = size // 5
                mask = ((yy - cy) ** 2 + (xx - cx) ** 2 < r**2) if label == 0 else (abs(yy - cy) < r) & (abs(xx - cx) < r)
                pixels[mask] = (230, 120, 40) if label == 0 else (40, 110, 230)
                Image.fromarray(pixels, "RGB").save(folder / f"{name[:-1]}.{i}.jpg", quality=90)
    return root


def data_folder(given: str | None, tiny: bool, ws, scratch: Path, **tiny_options) -> Path | None:
    """The image folder a benchmark reads: generated images in tiny mode, else ``given`` or the workspace's.

    Prints what to do and returns None when the folder has no ``train/`` and ``validation/``.
    """
    if tiny and not given:
        return make_tiny_images(scratch / "images", **tiny_options)
    data = Path(given).expanduser().resolve() if given else ws.data / "cats_and_dogs_filtered"
    if not (data / "train").is_dir() or not (data / "validation").is_dir():
        print(f"error: no train/ and validation/ in {data}. Run notebook 01 first (it extracts the data "
              "there), or pass --data, or --tiny for generated images.", file=sys.stderr)
        return None
    return data


def count_files(folder: Path) -> int:
    suffixes = {".jpg", ".jpeg", ".png", ".bmp"}
    return sum(1 for p in folder.rglob("*") if p.suffix.lower() in suffixes)


# --------------------------------------------------------------------------- pipelines


def idg_iterator(directory: Path, s: Settings, size: int, augment: bool, workers: int = 1,
                 use_multiprocessing: bool = False, shuffle: bool = True):
    """The tutorial's ImageDataGenerator + flow_from_directory, optionally with PyDataset workers.

    In Keras 3 the legacy ``DirectoryIterator`` is a ``keras.utils.PyDataset``, but its constructor does not
    pass ``workers``/``use_multiprocessing`` on; setting the properties afterwards works, and ``fit`` then
    loads batches with a thread (or process) pool.
    """
    from tensorflow.keras.preprocessing.image import ImageDataGenerator

    generator = ImageDataGenerator(rescale=1 / 255, **(TUTORIAL_AUGMENTATION if augment else {}))
    with contextlib.redirect_stdout(io.StringIO()):  # "Found 2000 images belonging to 2 classes.", many times
        iterator = generator.flow_from_directory(
            directory, target_size=(size, size), batch_size=s.batch_size, class_mode="binary",
            shuffle=shuffle, seed=s.seed,
        )
    iterator.workers = workers
    iterator.use_multiprocessing = use_multiprocessing
    return iterator


def augmentation_layers(seed: int, shear: bool = False) -> list:
    """Keras preprocessing layers equivalent to TUTORIAL_AUGMENTATION.

    ImageDataGenerator's ``shear_range=0.2`` is an angle in *degrees* (tan 0.2° ≈ 0.0035: at most half a pixel
    at 150 px), so the default leaves shear out; ``shear=True`` adds the equivalent RandomShear to measure its cost.
    """
    from keras import layers

    aug = TUTORIAL_AUGMENTATION
    stack = [
        layers.RandomRotation(aug["rotation_range"] / 360, fill_mode="nearest", seed=seed),  # factor: a fraction of 2π
        layers.RandomTranslation(aug["height_shift_range"], aug["width_shift_range"], fill_mode="nearest", seed=seed),
        layers.RandomZoom(aug["zoom_range"], aug["zoom_range"], fill_mode="nearest", seed=seed),  # x and y apart, like IDG
    ]
    if shear:
        factor = math.tan(math.radians(aug["shear_range"]))
        stack.append(layers.RandomShear(x_factor=factor, y_factor=0.0, fill_mode="nearest", seed=seed))
    stack.append(layers.RandomFlip("horizontal", seed=seed))
    return stack


_CACHED: dict[tuple, object] = {}


def cached_images(directory: Path, size: int):
    """Decoded, resized images, one at a time, cached in memory after the first full pass (one cache per folder)."""
    import keras

    key = (str(directory), size)
    if key not in _CACHED:
        images = keras.utils.image_dataset_from_directory(
            directory, label_mode="binary", batch_size=None, image_size=(size, size), interpolation="nearest",
            shuffle=False, verbose=False,
        )
        _CACHED[key] = images.cache()  # nearest-neighbour resizing keeps uint8: 4× less memory than float32
    return _CACHED[key]


def tfdata_pipeline(directory: Path, s: Settings, size: int, augment: bool, shear: bool = False,
                    rescale: bool = True, training: bool = True):
    """image_dataset_from_directory → cache (decoded uint8) → shuffle → batch → augment + rescale → prefetch."""
    import keras
    import tensorflow as tf

    ds = cached_images(directory, size)
    if training:
        ds = ds.shuffle(s.train_images, seed=s.seed, reshuffle_each_iteration=True)
    ds = ds.batch(s.batch_size)
    steps = [keras.layers.Rescaling(1 / 255)] if rescale else []
    if augment:
        steps += augmentation_layers(s.seed, shear=shear)
    # Labels as shape (batch,) like ImageDataGenerator's, so one traced model serves both kinds of feed.
    if steps:
        stack = keras.Sequential(steps)
        ds = ds.map(lambda x, y: (stack(x, training=True), tf.reshape(y, [-1])), num_parallel_calls=tf.data.AUTOTUNE)
    else:
        ds = ds.map(lambda x, y: (tf.cast(x, tf.float32), tf.reshape(y, [-1])))
    return ds.prefetch(tf.data.AUTOTUNE)


def as_fit_sees_it(py_dataset):
    """The tf.data.Dataset that ``fit`` makes from a PyDataset (with its thread/process pool when workers > 1)."""
    from keras.src.trainers.data_adapters.py_dataset_adapter import PyDatasetAdapter

    adapter = PyDatasetAdapter(py_dataset, shuffle=True)
    return adapter, adapter.get_tf_dataset()


def fill_cache(ds) -> tuple[int, float]:
    """One full pass (decoding every JPEG, filling the cache); returns images and seconds."""
    start = time.perf_counter()
    n = 0
    for _, y in ds:
        n += int(y.shape[0])
    return n, time.perf_counter() - start


def time_batches(iterator, warmup: int, batches: int) -> float:
    """Images per second over ``batches`` batches, after ``warmup`` batches."""
    for _ in range(warmup):
        next(iterator)
    n = 0
    start = time.perf_counter()
    for _ in range(batches):
        _, y = next(iterator)
        n += int(y.shape[0])
    return n / (time.perf_counter() - start)


def measure_pipelines(data: Path, s: Settings, log) -> dict:
    train = data / "train"
    specs = {
        "idg": ("ImageDataGenerator, workers=1 (as fit reads it: one background thread)",
                lambda: idg_iterator(train, s, s.image_size, True)),
    }
    for n in s.idg_threads:
        specs[f"idg_workers{n}"] = (f"ImageDataGenerator, workers={n} threads",
                                    lambda n=n: idg_iterator(train, s, s.image_size, True, workers=n))
    if s.idg_processes:
        specs[f"idg_processes{s.idg_processes}"] = (
            f"ImageDataGenerator, workers={s.idg_processes}, use_multiprocessing=True",
            lambda: idg_iterator(train, s, s.image_size, True, workers=s.idg_processes, use_multiprocessing=True))
    specs["idg_noaug"] = ("ImageDataGenerator without augmentation (the validation generator), workers=1",
                          lambda: idg_iterator(train, s, s.image_size, False))

    tf_train = tfdata_pipeline(train, s, s.image_size, augment=True)
    tf_shear = tfdata_pipeline(train, s, s.image_size, augment=True, shear=True)
    tf_noaug = tfdata_pipeline(train, s, s.image_size, augment=False)
    n, seconds = fill_cache(tf_train)
    first_pass = {"images": n, "seconds": round(seconds, 2), "images_per_s": round(n / seconds, 1)}
    log(f"  tf.data first pass (decode + resize + augment, fills the cache): {n / seconds:.0f} images/s")
    tf_specs = {
        "tfdata": ("tf.data: image_dataset_from_directory + cache + augmentation layers in map + prefetch", tf_train),
        "tfdata_shear": ("tf.data as above + RandomShear (equivalent of shear_range=0.2°)", tf_shear),
        "tfdata_noaug": ("tf.data, cached, no augmentation (the validation pipeline)", tf_noaug),
    }
    samples: dict[str, list[float]] = {name: [] for name in [*specs, *tf_specs]}
    errors: dict[str, str] = {}
    for round_ in range(s.rounds):
        for name, (_, make) in specs.items():
            if name in errors:
                continue
            try:
                adapter, ds = as_fit_sees_it(make())
                iterator = iter(ds)
                samples[name].append(time_batches(iterator, s.warmup_batches, s.pipeline_batches))
                del iterator
                if adapter.enqueuer is not None:
                    adapter.enqueuer.stop()
            except Exception as error:  # noqa: BLE001  (a failing variant is recorded, the others go on)
                errors[name] = f"{type(error).__name__}: {error}"
                log(f"  {name} failed: {errors[name]}")
        for name, (_, ds) in tf_specs.items():
            samples[name].append(time_batches(iter(ds.repeat()), s.warmup_batches, s.pipeline_batches))
        log(f"  round {round_ + 1}: " + ", ".join(f"{k} {v[-1]:.0f}" for k, v in samples.items() if v) + " images/s")

    base = statistics.median(samples["idg"])
    result = {}
    for name, description in [(k, v[0]) for k, v in specs.items()] + [(k, v[0]) for k, v in tf_specs.items()]:
        entry = {"description": description}
        if samples[name]:
            median = statistics.median(samples[name])
            entry.update(images_per_s=round(median, 1), samples=[round(x, 1) for x in samples[name]],
                         speedup_vs_idg=round(median / base, 2))
        if name in errors:
            entry["error"] = errors[name]
        result[name] = entry
    return {"batch_size": s.batch_size, "image_size": s.image_size, "batches_timed": s.pipeline_batches,
            "warmup_batches": s.warmup_batches, "rounds": s.rounds, "tfdata_first_pass": first_pass,
            "pipelines": result}


# --------------------------------------------------------------------------- model, FLOPs, matmul


def build_model(batch_norm: bool, size: int, augmentation: list | None = None, dropout: float = 0.5,
                placement: str | None = None, momentum: float = 0.99, filters=(32, 64, 128, 128),
                head: str = "flatten", padding: str = "valid", conv_dropout: float = 0.0, dense_bn: bool = False):
    """The tutorial's network: four Conv2D/MaxPooling blocks (32, 64, 128, 128), Flatten, Dropout, Dense 512, Dense 1.

    ``placement`` of batch normalisation: ``"none"`` (the classic model), ``"before_relu"`` (Conv → BN → ReLU →
    pool, the usual place; what ``batch_norm=True`` means here), ``"after_pool"`` (Conv+ReLU → pool → BN,
    notebook 02's choice) or ``"pool_bn_relu"`` (Conv → pool → BN → ReLU: BN before the ReLU, as usual, but at
    the pooled size, so no dearer per step than ``"after_pool"``; max-pooling commutes with the ReLU).
    ``filters`` of the four blocks, ``head`` (``"flatten"`` or ``"gap"``: global average pooling before the
    dense layer), the convolutions' ``padding``, ``conv_dropout`` (spatial dropout after each block) and
    ``dense_bn`` (Dense 512 → BN → ReLU) are there for accuracy experiments.
    """
    import keras
    from keras import layers

    placement = placement or ("before_relu" if batch_norm else "none")

    def block(n):
        if placement == "before_relu":
            return [layers.Conv2D(n, 3, padding=padding, use_bias=False), layers.BatchNormalization(momentum=momentum),
                    layers.Activation("relu"), layers.MaxPooling2D(2)]
        if placement == "pool_bn_relu":
            return [layers.Conv2D(n, 3, padding=padding, use_bias=False), layers.MaxPooling2D(2),
                    layers.BatchNormalization(momentum=momentum), layers.Activation("relu")]
        out = [layers.Conv2D(n, 3, padding=padding, activation="relu"), layers.MaxPooling2D(2)]
        return out + [layers.BatchNormalization(momentum=momentum)] if placement == "after_pool" else out

    def spatial_dropout():
        return [layers.SpatialDropout2D(conv_dropout)] if conv_dropout else []

    if len(filters) != 4 or head not in ("flatten", "gap"):
        raise ValueError(f"four blocks and a 'flatten' or 'gap' head, not filters={filters}, head={head!r}")
    front = [layers.Rescaling(1 / 255), *augmentation] if augmentation is not None else []
    pool = layers.Flatten() if head == "flatten" else layers.GlobalAveragePooling2D()
    dense = ([layers.Dense(512, use_bias=False), layers.BatchNormalization(momentum=momentum), layers.Activation("relu")]
             if dense_bn else [layers.Dense(512, activation="relu")])
    return keras.Sequential([
        keras.Input((size, size, 3)), *front, *(layer for n in filters for layer in block(n) + spatial_dropout()),
        pool, layers.Dropout(dropout), *dense,
        layers.Dense(1, activation="sigmoid"),
    ], name=f"{'classic' if placement == 'none' else 'batchnorm'}_{size}")


def warmup_cosine(learning_rate: float, epochs: int, warmup: int = 0):
    """Notebook 03's cosine schedule, after ``warmup`` epochs rising to the full rate, for ``LearningRateScheduler``."""

    def rate(epoch, current=None):
        if epoch < warmup:
            return learning_rate * (epoch + 1) / (warmup + 1)
        done = (epoch - warmup) / (epochs - warmup)
        return learning_rate * 0.5 * (1 + math.cos(math.pi * done))

    return rate


def compile_model(model, jit_compile: bool = False):
    import keras

    model.compile(keras.optimizers.Adam(1e-3), "binary_crossentropy", metrics=["accuracy"], jit_compile=jit_compile)
    return model


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


def measure_matmul(s: Settings, log) -> dict:
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


# --------------------------------------------------------------------------- training steps


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
        workers = int(config.feed.removeprefix("idg_workers") or 1) if config.feed != "idg" else 1
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


def measure_training(data: Path, s: Settings, peak_gflops: float, log) -> dict:
    import keras

    base, sizes = s.image_size, s.other_sizes
    configs: list[Config] = []
    for bn in s.architectures:
        arch = "batchnorm" if bn else "classic"
        configs.append(Config(f"{arch}_{base}_memory", bn, base, "memory", eval_feed="memory"))
        if s.xla:
            configs.append(Config(f"{arch}_{base}_memory_xla", bn, base, "memory", jit_compile=True))
        for size in sizes:
            configs.append(Config(f"{arch}_{size}_memory", bn, size, "memory"))
        configs.append(Config(f"{arch}_{base}_idg", bn, base, "idg", eval_feed="idg"))
        configs.append(Config(f"{arch}_{base}_idg_workers2", bn, base, "idg_workers2", eval_feed="idg_workers2"))
        configs.append(Config(f"{arch}_{base}_tfdata", bn, base, "tfdata", eval_feed="tfdata"))
    # augmentation inside the model (notebook 02's default model), and the smaller sizes with the pipeline and
    # the model of the seed setup: what a 25-epoch run with ImageDataGenerator would take
    configs.append(Config(f"batchnorm_{base}_tfdata_in_model", True, base, "tfdata_in_model"))
    for size in sizes if s.small_sizes_fed_by_idg else ():
        configs.append(Config(f"classic_{size}_idg", False, size, "idg", eval_feed="idg"))

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
            augmentation = augmentation_layers(s.seed) if in_model else None
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


# --------------------------------------------------------------------------- prediction latency


def cold_latency_child(model_path: str, mode: str, size: int) -> None:
    """Run in a fresh process: import, load the model, time the first and second call; print JSON."""
    start = time.perf_counter()
    from catsdogs.env import quiet_tensorflow

    quiet_tensorflow()
    import keras
    import numpy as np

    imported = time.perf_counter()
    model = keras.models.load_model(model_path)
    loaded = time.perf_counter()
    x = np.random.default_rng(0).random((1, size, size, 3), dtype=np.float32)
    times = []
    for _ in range(2):
        t = time.perf_counter()
        if mode == "predict":
            model.predict(x, verbose=0)
        else:
            np.asarray(model(x, training=False))
        times.append(time.perf_counter() - t)
    print(json.dumps({"import_s": round(imported - start, 3), "load_s": round(loaded - imported, 3),
                      "first_call_s": round(times[0], 4), "second_call_s": round(times[1], 4)}))


def measure_latency(s: Settings, workdir: Path, log) -> dict:
    import keras
    import numpy as np

    size = s.image_size
    from catsdogs import artifacts

    path = artifacts.save_model(compile_model(build_model(True, size)), workdir / "latency_model.keras")
    x = np.random.default_rng(0).random((1, size, size, 3), dtype=np.float32)
    modes = {"predict": lambda m: m.predict(x, verbose=0), "call": lambda m: np.asarray(m(x, training=False))}

    cold: dict[str, list] = {m: [] for m in modes}
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}
    for _ in range(s.latency_cold_repeats):
        for mode in modes:
            out = subprocess.run([sys.executable, __file__, "--cold-latency-child", str(path), mode, str(size)],
                                 capture_output=True, text=True, env=env, timeout=300)
            if out.returncode != 0:
                raise RuntimeError(f"cold latency child failed: {out.stderr[-2000:]}")
            cold[mode].append(json.loads(out.stdout.strip().splitlines()[-1]))

    in_process = {}
    for mode, call in modes.items():
        model = keras.models.load_model(path)
        t = time.perf_counter()
        call(model)
        in_process[mode] = round(time.perf_counter() - t, 4)

    model = keras.models.load_model(path)
    for call in modes.values():
        for _ in range(3):
            call(model)
    warm: dict[str, list[float]] = {m: [] for m in modes}
    for _ in range(s.latency_warm_calls):
        for mode, call in modes.items():
            t = time.perf_counter()
            call(model)
            warm[mode].append(time.perf_counter() - t)

    def summary(runs):
        return {k: round(statistics.median(r[k] for r in runs), 4) for k in runs[0]}

    result = {
        "model": f"notebook 02's model with batch normalisation, {size}×{size}, loaded from a .keras file",
        "input": "one image, shape (1, H, W, 3) float32 (preprocessing not included)",
        "cold_fresh_process": {m: summary(cold[m]) | {"runs": len(cold[m])} for m in modes},
        "first_call_after_load_in_warm_process_s": in_process,
        "warm_median_s": {m: round(statistics.median(v), 5) for m, v in warm.items()},
        "warm_p90_s": {m: round(sorted(v)[int(0.9 * (len(v) - 1))], 5) for m, v in warm.items()},
        "warm_calls": s.latency_warm_calls,
    }
    w = result["warm_median_s"]
    result["warm_predict_over_call"] = round(w["predict"] / w["call"], 2)
    log(f"  warm: predict {1000 * w['predict']:.1f} ms, call {1000 * w['call']:.1f} ms; cold first call: "
        + ", ".join(f"{m} {1000 * result['cold_fresh_process'][m]['first_call_s']:.0f} ms" for m in modes))
    return result


# --------------------------------------------------------------------------- summary and figure


def levers(results: dict) -> dict:
    """Speed-ups (baseline time / variant time: above 1 is faster) for each lever, from the measurements."""
    t = results["training"]["configs"]
    s = results["settings"]
    base = s["image_size"]
    out: dict[str, dict] = {}

    def ratio(a, b, key="step_s_median"):
        if a in t and b in t and key in t[a] and key in t[b]:
            return round(t[a][key] / t[b][key], 2)
        return None

    for arch in ("classic", "batchnorm"):
        out[arch] = {k: v for k, v in {
            "xla_step": ratio(f"{arch}_{base}_memory", f"{arch}_{base}_memory_xla"),
            **{f"size_{n}_step": ratio(f"{arch}_{base}_memory", f"{arch}_{n}_memory") for n in s["other_sizes"]},
            "idg_workers2_epoch": ratio(f"{arch}_{base}_idg", f"{arch}_{base}_idg_workers2", "epoch_s_estimate"),
            "tfdata_vs_idg_epoch": ratio(f"{arch}_{base}_idg", f"{arch}_{base}_tfdata", "epoch_s_estimate"),
            "tfdata_vs_idg_step": ratio(f"{arch}_{base}_idg", f"{arch}_{base}_tfdata"),
            "augmentation_in_dataset_vs_in_model_step": ratio(f"{arch}_{base}_tfdata_in_model", f"{arch}_{base}_tfdata"),
            "in_memory_vs_idg_step": ratio(f"{arch}_{base}_idg", f"{arch}_{base}_memory"),
        }.items() if v is not None}
    out["batchnorm_vs_classic_step"] = ratio(f"classic_{base}_memory", f"batchnorm_{base}_memory")
    seed = f"classic_{base}_idg"
    if seed in t and "epoch_s_estimate" in t[seed]:
        out["vs_seed_setup_epoch"] = {
            name: round(t[seed]["epoch_s_estimate"] / c["epoch_s_estimate"], 2)
            for name, c in t.items() if "epoch_s_estimate" in c
        }
    pipes = results["pipelines"]["pipelines"]
    out["pipeline_throughput_vs_idg"] = {k: v.get("speedup_vs_idg") for k, v in pipes.items()}
    return out


def make_figure(results: dict, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    hw, sw, s = results["hardware"], results["software"], results["settings"]
    fig, axes = plt.subplots(2, 2, figsize=(14, 10))

    ax = axes[0, 0]
    pipes = {k: v for k, v in results["pipelines"]["pipelines"].items() if "images_per_s" in v}
    names = list(pipes)
    values = [pipes[k]["images_per_s"] for k in names]
    colors = ["tab:orange" if k.startswith("idg") else "tab:blue" for k in names]
    ax.barh(names, values, color=colors)
    for i, v in enumerate(values):
        ax.text(v, i, f" {v:.0f} ({pipes[names[i]]['speedup_vs_idg']:.2f}×)", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set(xlabel="images per second (median)", title=f"Input pipelines alone, {s['image_size']} px, batch "
           f"{s['batch_size']}\n(orange: ImageDataGenerator, blue: tf.data, cached)")
    ax.margins(x=0.25)

    ax = axes[0, 1]
    t = results["training"]["configs"]
    mem = [k for k in t if t[k]["feed"] == "memory"]
    ax.barh(mem, [t[k]["step_s_median"] for k in mem],
            color=["tab:green" if t[k]["model"] == "batchnorm" else "tab:gray" for k in mem])
    for i, k in enumerate(mem):
        ax.text(t[k]["step_s_median"], i, f" {t[k]['step_s_median']:.2f} s · {t[k]['achieved_gflops']:.0f} GFLOP/s"
                f" ({100 * t[k]['fraction_of_matmul_peak']:.0f} % of matmul)", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set(xlabel="seconds per training step (median)",
           title=f"Pure compute (in-memory batch): BatchNorm, XLA, image size\n"
                 f"(grey: classic, green: BatchNorm; matmul peak {results['matmul']['peak_gflops']:.0f} GFLOP/s)")
    ax.margins(x=0.6)

    ax = axes[1, 0]
    fed = [k for k in t if "epoch_s_estimate" in t[k]]
    ax.barh(fed, [t[k]["epoch_s_estimate"] for k in fed],
            color=["tab:green" if t[k]["model"] == "batchnorm" else "tab:gray" for k in fed])
    vs = results["levers"].get("vs_seed_setup_epoch", {})
    for i, k in enumerate(fed):
        speedup = f" ({vs[k]:.2f}× vs seed)" if k in vs else ""
        ax.text(t[k]["epoch_s_estimate"], i, f" {t[k]['epoch_s_estimate']:.1f} s{speedup}", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set(xlabel="estimated seconds per epoch (training + validation)",
           title=f"Epoch time by feed ({results['training']['steps_per_epoch']} training + "
                 f"{results['training']['validation_steps']} validation steps)\nseed setup: classic_"
                 f"{s['image_size']}_idg")
    ax.margins(x=0.35)

    ax = axes[1, 1]
    lat = results["prediction_latency"]
    labels, values = [], []
    for mode in ("predict", "call"):
        labels += [f"{mode}: cold, fresh process (first call)", f"{mode}: first call after load (warm process)",
                   f"{mode}: warm (median)"]
        values += [lat["cold_fresh_process"][mode]["first_call_s"],
                   lat["first_call_after_load_in_warm_process_s"][mode], lat["warm_median_s"][mode]]
    ax.barh(labels, [1000 * v for v in values], color=["tab:red", "tab:orange", "tab:blue"] * 2)
    for i, v in enumerate(values):
        ax.text(1000 * v, i, f" {1000 * v:.1f} ms", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1, 2, 5)))
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set(xlabel="milliseconds (log scale)", title="Single-image prediction latency:\n"
           "model.predict(x) vs model(x, training=False)")
    ax.margins(x=0.3)

    load = results["load_average"]
    fig.suptitle(f"cats-vs-dogs benchmark ({results['mode']} mode) · {hardware_line(hw, sw)}\n"
                 f"load average at start {load['start']}, at end {load['end']} (other work on the machine slows "
                 "every variant alike: compare ratios)", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", help="the workspace notebook 01 prepared (default: $CATSDOGS_WORKDIR or the "
                        "repository); outputs go to its results/ and figures/")
    parser.add_argument("--data", help="a folder with train/ and validation/ (default: <workdir>/data/"
                        "cats_and_dogs_filtered)")
    parser.add_argument("--tiny", action="store_true", help="generated images, one or two batches: checks the script works")
    parser.add_argument("--output", help="the JSON file (default: <workdir>/results/benchmark_<device>.json)")
    parser.add_argument("--figure", help="the figure (default: <workdir>/figures/benchmark.png)")
    parser.add_argument("--rounds", type=int, help="repeat every comparison this many times, interleaved")
    parser.add_argument("--replot", metavar="JSON", help="only redraw the figure from a saved results file")
    parser.add_argument("--cold-latency-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.replot:
        results = json.loads(Path(args.replot).read_text())
        figure = Path(args.figure) if args.figure else Path(args.replot).parent.parent / "figures" / "benchmark.png"
        print("wrote", make_figure(results, figure))
        return 0
    if args.cold_latency_child:
        cold_latency_child(args.cold_latency_child[0], args.cold_latency_child[1], int(args.cold_latency_child[2]))
        return 0

    began = time.perf_counter()
    load_start = load_average()
    from catsdogs import paths
    from catsdogs.env import quiet_tensorflow, set_seeds

    quiet_tensorflow()
    s = settings_for(args.tiny)
    if args.rounds:
        s.rounds = args.rounds

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - began:6.0f} s] {message}", flush=True)

    scratch = Path(tempfile.mkdtemp(prefix="catsdogs-benchmark-"))
    try:
        ws = paths.workspace(args.workdir)
        data = data_folder(args.data, args.tiny, ws, scratch)
        if data is None:
            return 2
        s.train_images, s.validation_images = count_files(data / "train"), count_files(data / "validation")
        set_seeds(s.seed)
        hardware, software = describe_machine()
        log(hardware_line(hardware, software) + f"; {s.mode} mode; {s.train_images} training images")
        results: dict = {"schema": SCHEMA_VERSION, "mode": s.mode,
                         "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                         "hardware": hardware, "software": software, "settings": asdict(s),
                         "data": "generated images" if args.tiny and not args.data else "cats_and_dogs_filtered"}
        log("matmul peak")
        results["matmul"] = measure_matmul(s, log)
        log("input pipelines")
        results["pipelines"] = measure_pipelines(data, s, log)
        log("training steps")
        results["training"] = measure_training(data, s, results["matmul"]["peak_gflops"], log)
        log("prediction latency")
        results["prediction_latency"] = measure_latency(s, scratch, log)
        results["load_average"] = {"start": load_start, "end": load_average()}
        results["levers"] = levers(results)
        results["duration_s"] = round(time.perf_counter() - began, 1)

        from catsdogs import artifacts

        output = Path(args.output) if args.output else ws.results / f"benchmark_{device_label(hardware)}.json"
        figure = Path(args.figure) if args.figure else ws.figures / "benchmark.png"
        artifacts.save_json(output, results)
        make_figure(results, figure)
        log(f"wrote {output} and {figure}")
        print(json.dumps(results["levers"], indent=1))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
