"""Random colour changes for training photos, which ``ImageDataGenerator`` cannot make by itself.

The generator shifts, turns, zooms and flips, and its ``brightness_range`` and ``channel_shift_range`` change
every colour channel alike; none of them changes a photo's *colours*. A model that has seen the same few coat
colours in every training photo can learn "orange-brown, so dog" — and then fails on cat breeds with other
coats. :func:`colour_jitter` makes a ``preprocessing_function`` for the generator that, per photo, either turns
it grey or scales its saturation and turns its hue a little. Notebook 01 chooses the settings (its ``colour_augmentation``
parameter, saved in ``models/data_config.json``); notebook 03 applies them to the training photos only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

# RGB -> YIQ: Y is the brightness a grey photo keeps; I and Q hold the colour, and a turn of (I, Q) turns the hue.
_TO_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
_FROM_YIQ = np.linalg.inv(_TO_YIQ)
LUMA = _TO_YIQ[0]

#: The keys of notebook 01's ``colour_augmentation`` parameter.
COLOUR_KEYS = ("saturation", "hue_degrees", "grayscale")


def colour_matrix(saturation: float, hue_degrees: float) -> np.ndarray:
    """The 3×3 matrix that scales saturation and turns hue: ``pixels @ matrix.T`` applies it."""
    angle = np.deg2rad(hue_degrees)
    turn = np.array([[1.0, 0.0, 0.0],
                     [0.0, saturation * np.cos(angle), -saturation * np.sin(angle)],
                     [0.0, saturation * np.sin(angle), saturation * np.cos(angle)]])
    return _FROM_YIQ @ turn @ _TO_YIQ


def check_colour(settings: Mapping[str, Any]) -> dict[str, Any]:
    """``settings`` as a dict if they are valid colour settings (``{}``: no colour changes), else ``ValueError``."""
    unknown = sorted(set(settings) - set(COLOUR_KEYS))
    if unknown:
        raise ValueError(f"unknown colour setting(s) {', '.join(map(repr, unknown))}: use "
                         f"{', '.join(COLOUR_KEYS)}")
    low, high = settings.get("saturation", (1.0, 1.0))
    hue = settings.get("hue_degrees", 0.0)
    grey = settings.get("grayscale", 0.0)
    if not (0 <= low <= high):
        raise ValueError(f"saturation must be [low, high] with 0 ≤ low ≤ high, not {[low, high]}")
    if not (0 <= hue <= 180):
        raise ValueError(f"hue_degrees must be between 0 and 180, not {hue}")
    if not (0 <= grey <= 1):
        raise ValueError(f"grayscale is a probability between 0 and 1, not {grey}")
    return dict(settings)


def colour_jitter(saturation: tuple[float, float] = (1.0, 1.0), hue_degrees: float = 0.0,
                  grayscale: float = 0.0) -> Callable[[np.ndarray], np.ndarray]:
    """A ``preprocessing_function`` for ``ImageDataGenerator`` that changes each photo's colours at random.

    With probability ``grayscale`` the photo turns grey (its brightness kept); otherwise its saturation is
    multiplied by a factor drawn from ``saturation`` and its hue turned by up to ``hue_degrees`` either way.
    The photo arrives as 0–255 floats after the generator's other changes and before ``rescale``; the random
    draws use NumPy's generator, which ``flow_from_directory(seed=…)`` seeds for every batch.
    """
    check_colour({"saturation": saturation, "hue_degrees": hue_degrees, "grayscale": grayscale})
    low, high = saturation

    def change_colours(image: np.ndarray) -> np.ndarray:
        if grayscale and np.random.random() < grayscale:
            grey = image @ LUMA.astype(image.dtype)
            return np.repeat(grey[..., np.newaxis], 3, axis=-1)
        matrix = colour_matrix(np.random.uniform(low, high), np.random.uniform(-hue_degrees, hue_degrees))
        return np.clip(image @ matrix.T.astype(image.dtype), 0, 255)

    return change_colours


def preprocessing_function(colour: Mapping[str, Any] | None) -> Callable[[np.ndarray], np.ndarray] | None:
    """What to give ``ImageDataGenerator(preprocessing_function=…)`` for notebook 01's ``colour_augmentation`` setting."""
    return colour_jitter(**check_colour(colour)) if colour else None


def tf_colour_jitter(saturation: tuple[float, float] = (1.0, 1.0), hue_degrees: float = 0.0,
                     grayscale: float = 0.0, seed: int | None = None):
    """The same colour changes as :func:`colour_jitter`, for a batch of images in a ``tf.data`` pipeline.

    Returns a function of a ``(n, height, width, 3)`` float tensor (any brightness scale; 0–1 after
    ``Rescaling``) that draws a saturation factor, a hue turn and grey-or-not per image, and applies the
    matrix of :func:`colour_matrix` (a grey photo is saturation 0: its brightness, as in :func:`colour_jitter`).
    """
    import tensorflow as tf

    check_colour({"saturation": saturation, "hue_degrees": hue_degrees, "grayscale": grayscale})
    low, high = saturation
    to_yiq, from_yiq = tf.constant(_TO_YIQ, tf.float32), tf.constant(_FROM_YIQ, tf.float32)
    generator = (tf.random.Generator.from_seed(seed) if seed is not None
                 else tf.random.Generator.from_non_deterministic_state())

    def change_colours(images):
        n = tf.shape(images)[0]
        factor = generator.uniform([n], low, high) if high > low else tf.fill([n], tf.constant(low, tf.float32))
        factor = tf.where(generator.uniform([n]) < grayscale, 0.0, factor)
        angle = generator.uniform([n], -hue_degrees, hue_degrees) * (np.pi / 180) if hue_degrees else tf.zeros([n])
        cos, sin = factor * tf.cos(angle), factor * tf.sin(angle)
        zeros, ones = tf.zeros_like(cos), tf.ones_like(cos)
        turn = tf.stack([tf.stack([ones, zeros, zeros], -1), tf.stack([zeros, cos, -sin], -1),
                         tf.stack([zeros, sin, cos], -1)], -2)
        matrices = from_yiq @ turn @ to_yiq  # one 3×3 matrix per image
        top = tf.reduce_max(images)
        changed = tf.einsum("nhwc,ndc->nhwd", images, matrices)
        return tf.clip_by_value(changed, 0.0, tf.maximum(top, 1.0))

    return change_colours


def tf_preprocessing(colour: Mapping[str, Any] | None, seed: int | None = None):
    """:func:`tf_colour_jitter` for notebook 01's ``colour_augmentation`` setting, or ``None`` for no changes."""
    return tf_colour_jitter(**check_colour(colour), seed=seed) if colour else None
