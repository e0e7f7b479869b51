"""Input pipelines: notebook 01's ImageDataGenerator against notebook 06's cached tf.data pipeline, alone.

Both are built with the notebooks' defaults (image size, interpolation, batch size, augmentation, seed),
passed in as ``benchmark.Settings``; ``measure_pipelines`` times each without a model.
"""

from __future__ import annotations

import contextlib
import io
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .benchmark import Settings


def idg_iterator(directory: Path, s: Settings, size: int, augment: bool, workers: int = 1,
                 use_multiprocessing: bool = False, shuffle: bool = True):
    """Notebook 01's ImageDataGenerator + flow_from_directory, optionally with PyDataset workers.

    In Keras 3 the legacy ``DirectoryIterator`` is a ``keras.utils.PyDataset``, but its constructor does not
    pass ``workers``/``use_multiprocessing`` on; setting the properties afterwards works (notebook 03 does),
    and ``fit`` then loads batches with a thread (or process) pool.
    """
    from tensorflow.keras.preprocessing.image import ImageDataGenerator

    from catsdogs import colour

    generator = ImageDataGenerator(rescale=1 / 255, **(s.augmentation if augment else {}),
                                   preprocessing_function=colour.preprocessing_function(s.colour_augmentation)
                                   if augment else None)
    with contextlib.redirect_stdout(io.StringIO()):  # "Found 2000 images belonging to 2 classes.", many times
        iterator = generator.flow_from_directory(
            directory, target_size=(size, size), interpolation=s.interpolation, batch_size=s.batch_size,
            class_mode="binary", shuffle=shuffle, seed=s.seed,
        )
    iterator.workers = workers
    iterator.use_multiprocessing = use_multiprocessing
    return iterator


def augmentation_layers(augmentation: dict, seed: int) -> list:
    """Keras preprocessing layers that do what ``ImageDataGenerator(**augmentation)`` does, as notebook 06 builds them.

    ``fill_mode="nearest"`` like the generator (the layers' default is ``"reflect"``), zoom in height and width
    apart like the generator. A shear is left out, as in notebook 06.
    """
    from keras import layers

    stack = []
    if augmentation.get("rotation_range"):  # the layer's factor is a fraction of 2π
        stack.append(layers.RandomRotation(augmentation["rotation_range"] / 360, fill_mode="nearest", seed=seed))
    shift_h, shift_w = augmentation.get("height_shift_range", 0), augmentation.get("width_shift_range", 0)
    if shift_h or shift_w:
        stack.append(layers.RandomTranslation(shift_h, shift_w, fill_mode="nearest", seed=seed))
    if augmentation.get("zoom_range"):
        zoom = augmentation["zoom_range"]
        stack.append(layers.RandomZoom(zoom, zoom, fill_mode="nearest", seed=seed))
    if augmentation.get("horizontal_flip"):
        stack.append(layers.RandomFlip("horizontal", seed=seed))
    return stack


_CACHED: dict[tuple, object] = {}


def cached_images(directory: Path, size: int, interpolation: str):
    """Decoded, resized uint8 images, one at a time, cached in memory after the first full pass (one cache per folder).

    As notebook 06: Pillow's "bilinear" shrinking is TensorFlow's "area", and the pixels are rounded to uint8.
    """
    import keras
    import tensorflow as tf

    key = (str(directory), size, interpolation)
    if key not in _CACHED:
        images = keras.utils.image_dataset_from_directory(
            directory, label_mode="binary", batch_size=None, image_size=(size, size), shuffle=False, verbose=False,
            interpolation={"bilinear": "area"}.get(interpolation, interpolation),
        )
        if images.element_spec[0].dtype != tf.uint8:
            images = images.map(lambda x, y: (tf.cast(tf.clip_by_value(tf.round(x), 0, 255), tf.uint8), y))
        _CACHED[key] = images.cache()  # uint8: 4× less memory than float32
    return _CACHED[key]


def tfdata_pipeline(directory: Path, s: Settings, size: int, augment: bool, rescale: bool = True, training: bool = True):
    """image_dataset_from_directory → cache (decoded uint8) → shuffle → batch → augment + rescale → prefetch."""
    import keras
    import tensorflow as tf

    ds = cached_images(directory, size, s.interpolation)
    if training:
        ds = ds.shuffle(s.train_images, seed=s.seed, reshuffle_each_iteration=True)
    ds = ds.batch(s.batch_size)
    steps = [keras.layers.Rescaling(1 / 255)] if rescale else []
    if augment:
        steps += augmentation_layers(s.augmentation, s.seed)
    # Labels as shape (batch,) like ImageDataGenerator's, so one traced model serves both kinds of feed.
    from catsdogs import colour

    colours = colour.tf_preprocessing(s.colour_augmentation, seed=s.seed) if augment else None
    if steps:
        stack = keras.Sequential(steps)

        def change(x):
            x = stack(x, training=True)
            return colours(x) if colours is not None else x

        ds = ds.map(lambda x, y: (change(x), tf.reshape(y, [-1])), num_parallel_calls=tf.data.AUTOTUNE)
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


def measure_pipelines(data: Path, s: Settings, log: Callable[[str], None]) -> dict:
    """Images per second of each pipeline alone, rounds interleaved; medians and the ratio to ``idg``."""
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
    tf_noaug = tfdata_pipeline(train, s, s.image_size, augment=False)
    n, seconds = fill_cache(tf_train)
    first_pass = {"images": n, "seconds": round(seconds, 2), "images_per_s": round(n / seconds, 1)}
    log(f"  tf.data first pass (decode + resize + augment, fills the cache): {n / seconds:.0f} images/s")
    tf_specs = {
        "tfdata": ("tf.data: image_dataset_from_directory + cache + augmentation layers in map + prefetch", tf_train),
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
