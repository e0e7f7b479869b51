"""Small helpers for the notebooks that train (03, 06, 07)."""

from __future__ import annotations

import time

import keras

from .artifacts import class_names


class EpochTimer(keras.callbacks.Callback):
    """Records how long each epoch took, validation included, in ``seconds`` (one entry per epoch)."""

    def on_train_begin(self, logs=None):
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.start)


def flow_options(data_config: dict, target_size: tuple[int, int] | None = None) -> dict:
    """The arguments of ``flow_from_directory`` that notebook 01 chose, for every later notebook.

    Image size (unless ``target_size``, a model's own size), batch size, class mode, the way
    photos are shrunk, and the class folders in notebook 01's order: a later notebook reads the
    photos exactly as the model was trained on them.
    """
    return {
        "target_size": tuple(target_size or data_config["image_size"]),
        "batch_size": data_config["batch_size"],
        "class_mode": data_config["class_mode"],
        "interpolation": data_config["interpolation"],
        "classes": class_names(data_config),
    }
