"""Colour changes for training photos (catsdogs.colour)."""

from __future__ import annotations

import numpy as np
import pytest

from catsdogs import colour


def photo(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 255, (6, 5, 3)).astype(np.float32)


def test_no_change_leaves_the_photo_as_it_was():
    image = photo()
    assert np.allclose(colour.colour_jitter()(image), image, atol=1e-3)
    assert colour.preprocessing_function({}) is None and colour.preprocessing_function(None) is None


def test_saturation_zero_and_grayscale_keep_the_brightness_and_remove_the_colour():
    image = photo()
    brightness = image @ colour.LUMA
    for change in (colour.colour_jitter(saturation=(0.0, 0.0)), colour.colour_jitter(grayscale=1.0)):
        grey = change(image)
        assert np.allclose(grey[..., 0], grey[..., 2], atol=1e-3) and np.allclose(grey[..., 1], grey[..., 0], atol=1e-3)
        assert np.allclose(grey[..., 0], np.clip(brightness, 0, 255), atol=1e-2)


def test_a_hue_turn_keeps_brightness_and_saturation_and_a_half_turn_is_not_the_identity():
    red = np.zeros((1, 1, 3), np.float32) + np.array([200, 60, 40], np.float32)
    matrix = colour.colour_matrix(1.0, 30.0)
    turned = red @ matrix.T
    yiq = lambda x: x @ colour._TO_YIQ.T  # noqa: E731
    assert yiq(turned)[..., 0] == pytest.approx(yiq(red)[..., 0], abs=1e-3)
    assert np.hypot(*yiq(turned)[0, 0, 1:]) == pytest.approx(np.hypot(*yiq(red)[0, 0, 1:]), abs=1e-3)
    assert not np.allclose(red @ colour.colour_matrix(1.0, 180.0).T, red, atol=1)


def test_the_changes_are_random_within_bounds_and_repeat_with_the_seed():
    change = colour.colour_jitter(saturation=(0.5, 1.5), hue_degrees=18, grayscale=0.2)
    image = photo()
    np.random.seed(3)
    first = [change(image) for _ in range(50)]
    np.random.seed(3)
    again = [change(image) for _ in range(50)]
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert all(x.min() >= 0 and x.max() <= 255 and x.shape == image.shape for x in first)
    greys = sum(np.allclose(x[..., 0], x[..., 1], atol=1e-3) for x in first)
    assert 2 <= greys <= 25  # about a fifth of 50
    assert len({round(float(x.sum()), 2) for x in first}) > 25


@pytest.mark.parametrize("settings, message", [
    ({"saturation": [1.5, 0.5]}, "saturation"),
    ({"hue_degrees": 270}, "hue_degrees"),
    ({"grayscale": 1.5}, "grayscale"),
    ({"hue": 10}, "unknown colour setting"),
])
def test_wrong_settings_are_refused_with_the_setting_named(settings, message):
    with pytest.raises(ValueError, match=message):
        colour.preprocessing_function(settings)


def test_the_generator_applies_it_to_training_photos(tmp_path):
    from PIL import Image
    from tensorflow.keras.preprocessing.image import ImageDataGenerator

    for name in ("cats", "dogs"):
        (tmp_path / name).mkdir()
        Image.new("RGB", (8, 8), (200, 60, 40)).save(tmp_path / name / "a.png")
    flow = dict(target_size=(8, 8), batch_size=2, class_mode="binary", shuffle=False)
    grey = ImageDataGenerator(rescale=1 / 255, preprocessing_function=colour.preprocessing_function(
        {"grayscale": 1.0})).flow_from_directory(tmp_path, **flow)
    images, _ = next(grey)
    assert np.allclose(images[..., 0], images[..., 2], atol=1e-4)
    assert images.max() <= 1.0


def test_the_tf_data_version_makes_the_same_changes_as_the_generators():
    import tensorflow as tf

    images = np.stack([photo(1), photo(2)]) / 255
    # fixed factors: both versions apply colour_matrix
    for settings in ({"saturation": (0.7, 0.7), "hue_degrees": 0.0}, {"saturation": (0.0, 0.0)}, {"grayscale": 1.0}):
        numpy_version = colour.colour_jitter(**settings)
        expected = np.stack([numpy_version(image * 255) / 255 for image in images])
        got = colour.tf_colour_jitter(**settings, seed=1)(tf.constant(images, tf.float32)).numpy()
        assert np.allclose(got, np.clip(expected, 0, 1), atol=1e-4), settings
    # random factors: within bounds, brightness kept, repeatable with the seed
    change = colour.tf_preprocessing({"saturation": [0.5, 1.5], "hue_degrees": 18, "grayscale": 0.2}, seed=3)
    again = colour.tf_preprocessing({"saturation": [0.5, 1.5], "hue_degrees": 18, "grayscale": 0.2}, seed=3)
    batch = tf.constant(np.stack([photo(i) for i in range(16)]) / 255, tf.float32)
    first, second = change(batch).numpy(), again(batch).numpy()
    assert np.array_equal(first, second) and first.min() >= 0 and first.max() <= 1
    assert colour.tf_preprocessing({}) is None
