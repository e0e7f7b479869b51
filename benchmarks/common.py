"""What every benchmark script shares: the machine's description, the image folders, notebook 02's model.

The model is built here, not loaded from the notebooks, so that the benchmarks can vary it (image size,
batch normalisation on or off, where it sits); tests/test_benchmark.py checks that its default is the
network notebook 02 saves, layer by layer.
"""

from __future__ import annotations

import os
import platform
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

from catsdogs.env import cpu_model

from .defaults import tutorial_defaults

REPO_ROOT = Path(__file__).resolve().parent.parent

#: Where batch normalisation sits in each of the four blocks (``step_times`` compares them):
#: ``none``: Conv+ReLU → pool, the classic model (notebook 02 with ``batch_norm=False``);
#: ``pool_bn_relu``: Conv → pool → BN → ReLU, notebook 02 with ``batch_norm=True``;
#: ``before_relu``: Conv → BN → ReLU → pool, the usual place; ``after_pool``: Conv+ReLU → pool → BN, an earlier default.
PLACEMENTS = ("none", "pool_bn_relu", "before_relu", "after_pool")

# --------------------------------------------------------------------------- the machine


def cpu_flags() -> list[str]:
    """The vector instruction sets that matter for TensorFlow's kernels."""
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
    """The 1, 5 and 15-minute load averages: how busy the machine was (other work slows every measurement)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def describe_machine() -> tuple[dict, dict]:
    """(hardware, software): what a result file records so that two machines' numbers can be told apart."""
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
    """One line for a figure or the README: CPU, cores, GPU, versions."""
    gpu = ", GPU " + " + ".join(hardware["gpus"]) if hardware["gpus"] else ", no GPU"
    return (f"{hardware['cpu_model']} ({hardware['cpu_cores_usable']} cores{gpu}) · TensorFlow "
            f"{software['tensorflow']} · Keras {software['keras']} · Python {software['python']}")


def clock_log() -> Callable[[str], None]:
    """A ``log(message)`` that prints each line with the seconds since it was made, flushed at once."""
    began = time.perf_counter()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - began:6.0f} s] {message}", flush=True)

    return log


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


# --------------------------------------------------------------------------- notebook 02's model


def build_model(batch_norm: bool, size: int, augmentation: list | None = None, dropout: float | None = None,
                placement: str | None = None):
    """Notebook 02's network at ``size``×``size``: four blocks (32, 64, 128, 128), Flatten, Dropout, Dense 512, Dense 1.

    ``batch_norm`` as notebook 02's parameter: each block Conv (no bias) → MaxPool → BatchNorm(momentum 0.9) →
    ReLU, or without it the classic Conv+ReLU → MaxPool. ``placement`` (one of ``PLACEMENTS``) overrides it,
    to compare where batch normalisation sits. ``dropout``: the notebook's default unless given.
    ``augmentation``: preprocessing layers to put first, after a Rescaling (the model then takes uint8 images).
    """
    import keras
    from keras import layers

    placement = placement or ("pool_bn_relu" if batch_norm else "none")
    if placement not in PLACEMENTS:
        raise ValueError(f"placement must be one of {', '.join(PLACEMENTS)}, not {placement!r}")
    dropout = tutorial_defaults().dropout if dropout is None else dropout

    def block(n: int) -> list:
        if placement == "pool_bn_relu":
            return [layers.Conv2D(n, 3, use_bias=False), layers.MaxPooling2D(2),
                    layers.BatchNormalization(momentum=0.9), layers.Activation("relu")]
        if placement == "before_relu":
            return [layers.Conv2D(n, 3, use_bias=False), layers.BatchNormalization(momentum=0.9),
                    layers.Activation("relu"), layers.MaxPooling2D(2)]
        classic = [layers.Conv2D(n, 3, activation="relu"), layers.MaxPooling2D(2)]
        return classic + [layers.BatchNormalization(momentum=0.9)] if placement == "after_pool" else classic

    front = [layers.Rescaling(1 / 255), *augmentation] if augmentation is not None else []
    return keras.Sequential([
        keras.Input((size, size, 3)), *front, *(layer for n in (32, 64, 128, 128) for layer in block(n)),
        layers.Flatten(), layers.Dropout(dropout), layers.Dense(512, activation="relu"),
        layers.Dense(1, activation="sigmoid"),
    ], name=f"{'classic' if placement == 'none' else 'batchnorm'}_{size}")


def compile_model(model, jit_compile: bool = False, learning_rate: float | None = None):
    """Compile as notebook 02 does: Nadam at the notebook's learning rate, binary cross-entropy, accuracy."""
    import keras

    rate = tutorial_defaults().learning_rate if learning_rate is None else learning_rate
    model.compile(keras.optimizers.Nadam(learning_rate=rate), "binary_crossentropy", metrics=["accuracy"],
                  jit_compile=jit_compile)
    return model


def tutorial_model(size: int | None = None):
    """The model notebook 02 builds and compiles with its default parameters (at ``size``, else notebook 01's)."""
    d = tutorial_defaults()
    return compile_model(build_model(d.batch_norm, size or d.image_size))
