"""Small generated image sets, so tests never need the real (non-redistributable) photos."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def synthetic_photo(label: int, size: int, rng: np.random.Generator) -> Image.Image:
    """A noisy picture a small CNN can learn: class 0 has a warm disc, class 1 a cool square."""
    pixels = rng.integers(0, 90, size=(size, size, 3), dtype=np.uint8)
    yy, xx = np.mgrid[:size, :size]
    cy, cx = rng.integers(size // 4, 3 * size // 4, size=2)
    r = size // 5
    if label == 0:
        mask = (yy - cy) ** 2 + (xx - cx) ** 2 < r**2
        pixels[mask] = (230, 120, 40)
    else:
        mask = (abs(yy - cy) < r) & (abs(xx - cx) < r)
        pixels[mask] = (40, 110, 230)
    return Image.fromarray(pixels, "RGB")


def make_image_set(root: Path, train: int = 12, validation: int = 6, size: int = 72, seed: int = 0) -> Path:
    """``root/cats_and_dogs_filtered/{train,validation}/{cats,dogs}/*.jpg``, like Google's archive."""
    rng = np.random.default_rng(seed)
    base = root / "cats_and_dogs_filtered"
    for split, n in (("train", train), ("validation", validation)):
        for label, name in enumerate(("cats", "dogs")):
            folder = base / split / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                synthetic_photo(label, size, rng).save(folder / f"{name[:-1]}.{split}.{i}.jpg", quality=90)
    return base


def zip_folder(folder: Path, archive: Path) -> Path:
    """Zip ``folder`` with its own name as the top-level entry, as Google's archive does."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            zf.write(path, path.relative_to(folder.parent).as_posix())
    return archive


@pytest.fixture
def image_set(tmp_path) -> Path:
    return make_image_set(tmp_path / "source")


@pytest.fixture
def image_archive(image_set, tmp_path) -> Path:
    return zip_folder(image_set, tmp_path / "cats_and_dogs_filtered.zip")


@pytest.fixture
def ws(tmp_path):
    from catsdogs.paths import workspace

    return workspace(tmp_path / "work")


TINY_SIZE = 48


@pytest.fixture(scope="session")
def tiny_workspace(tmp_path_factory):
    """A workspace with a small trained Sequential CNN, saved and described as notebooks 01-03 would."""
    from catsdogs.env import quiet_tensorflow

    quiet_tensorflow()
    import keras
    from keras import layers

    from catsdogs import artifacts
    from catsdogs.paths import workspace

    keras.utils.set_random_seed(0)
    ws = workspace(tmp_path_factory.mktemp("tiny") / "work")
    rng = np.random.default_rng(1)
    labels = np.arange(96) % 2
    images = np.stack([np.asarray(synthetic_photo(int(y), TINY_SIZE, rng)) for y in labels]) / 255.0
    model = keras.Sequential([
        keras.Input((TINY_SIZE, TINY_SIZE, 3)),
        layers.Conv2D(8, 3), layers.BatchNormalization(), layers.Activation("relu"), layers.MaxPooling2D(2),
        layers.Conv2D(16, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dropout(0.2), layers.Dense(16, activation="relu"),
        layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(keras.optimizers.Adam(3e-3), "binary_crossentropy", metrics=["accuracy"])
    model.fit(images, labels, epochs=15, batch_size=16, verbose=0)
    artifacts.save_model(model, ws.models / "best.keras")
    artifacts.save_data_config(ws, {
        "train_dir": "data/x/train", "validation_dir": "data/x/validation",
        "image_size": [TINY_SIZE, TINY_SIZE], "batch_size": 16, "class_mode": "binary",
        "class_indices": {"cats": 0, "dogs": 1}, "rescale": 1 / 255, "interpolation": "nearest",
    })
    photos = ws.root / "photos"
    photos.mkdir()
    for i, label in enumerate([0, 1, 0, 1]):
        synthetic_photo(label, 90, rng).save(photos / f"{'cat' if label == 0 else 'dog'}_{i}.jpg")
    return ws


@pytest.fixture(scope="session")
def tiny_transfer_model(tiny_workspace):
    """A ``transfer.keras`` beside the tiny workspace, built like notebook 07's model.

    A small MobileNetV2 (alpha 0.35) with random weights stands in for the pretrained one, so no
    weights are needed; the structure is the notebook's: Rescaling to [-1, 1], the base called with
    ``training=False``, global pooling, dropout and one sigmoid unit. It is compiled to run eagerly
    (also after loading): on a few tiny batches, tracing MobileNetV2 into a graph would take 20 s of
    the fast test tier, and eager steps compute the same thing.
    """
    import keras
    from keras import layers

    from catsdogs import artifacts

    keras.utils.set_random_seed(0)
    shape = (TINY_SIZE, TINY_SIZE, 3)
    base = keras.applications.MobileNetV2(input_shape=shape, include_top=False, weights=None, alpha=0.35)
    base.trainable = False
    inputs = keras.Input(shape)
    x = layers.Rescaling(2.0, offset=-1.0)(inputs)
    x = base(x, training=False)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.2)(x)
    model = keras.Model(inputs, layers.Dense(1, activation="sigmoid")(x))
    rng = np.random.default_rng(2)
    labels = np.arange(32) % 2
    images = np.stack([np.asarray(synthetic_photo(int(y), TINY_SIZE, rng)) for y in labels]) / 255.0
    model.compile(keras.optimizers.Adam(1e-3), "binary_crossentropy", metrics=["accuracy"], run_eagerly=True)
    model.fit(images, labels, epochs=1, batch_size=16, verbose=0)
    base.trainable = True  # as after fine-tuning: upper layers trainable, batch normalisation frozen
    for index, layer in enumerate(base.layers):
        layer.trainable = index >= 100 and not isinstance(layer, layers.BatchNormalization)
    model.compile(keras.optimizers.Adam(1e-5), "binary_crossentropy", metrics=["accuracy"], run_eagerly=True)
    model.fit(images, labels, epochs=1, batch_size=16, verbose=0)
    # Beside the workspace, not in its models/: the tools answer with models/transfer.keras when it exists,
    # and the tests that share the tiny workspace expect the CNN there.
    return artifacts.save_model(model, tiny_workspace.root / "transfer_model" / "transfer.keras")
