"""Grad-CAM on a Sequential model loaded from disk (the case the keras-io recipe breaks on)."""

import numpy as np
import pytest

from catsdogs import artifacts, gradcam
from catsdogs.images import load_for_model


@pytest.fixture(scope="module")
def model(tiny_workspace):
    return artifacts.load_model(tiny_workspace.models / "best.keras")


def test_last_conv_block_is_the_activation_before_pooling(model):
    index = gradcam.last_conv_block_index(model)
    assert type(model.layers[index]).__name__ == "Conv2D"  # the second block: Conv2D(relu) then pooling
    assert type(model.layers[index + 1]).__name__ == "MaxPooling2D"


def test_heatmap_has_the_image_size_values_in_0_1_and_is_not_constant(model, tiny_workspace):
    for photo in sorted((tiny_workspace.root / "photos").iterdir()):
        image = load_for_model(photo, (48, 48))
        heatmap = gradcam.gradcam(model, image)
        assert heatmap.shape == (48, 48)
        assert heatmap.min() >= 0.0 and heatmap.max() <= 1.0
        assert heatmap.std() > 0.01, f"constant heatmap for {photo.name}"


def test_both_classes_can_be_explained(model, tiny_workspace):
    image = load_for_model(sorted((tiny_workspace.root / "photos").iterdir())[0], (48, 48))
    for_dog = gradcam.gradcam(model, image, class_index=1)
    for_cat = gradcam.gradcam(model, image, class_index=0)
    assert not np.allclose(for_dog, for_cat)


def test_overlay_keeps_the_image_shape_and_range(model, tiny_workspace):
    image = load_for_model(sorted((tiny_workspace.root / "photos").iterdir())[0], (48, 48))
    blended = gradcam.overlay(image, gradcam.gradcam(model, image))
    assert blended.shape == (48, 48, 3) and 0.0 <= blended.min() and blended.max() <= 1.0


def test_batch_normalisation_after_pooling_is_not_taken_for_the_feature_map():
    """Notebook 02's blocks end Conv2D(relu) → MaxPooling2D → BatchNormalization: explain the Conv2D's finer map."""
    import keras
    from keras import layers

    net = keras.Sequential([
        keras.Input((32, 32, 3)),
        layers.Conv2D(4, 3, activation="relu"), layers.MaxPooling2D(2), layers.BatchNormalization(),
        layers.Conv2D(8, 3, activation="relu"), layers.MaxPooling2D(2), layers.BatchNormalization(),
        layers.Flatten(), layers.Dense(1, activation="sigmoid"),
    ])
    index = gradcam.last_conv_block_index(net)
    assert type(net.layers[index]).__name__ == "Conv2D" and net.layers[index].output.shape[1] == 13
    heatmap = gradcam.gradcam(net, np.random.default_rng(0).random((32, 32, 3), dtype="float32"))
    assert heatmap.shape == (32, 32)


def _pool_then_normalise(gamma_sign: float):
    """Two Conv → MaxPooling → BatchNormalization → ReLU blocks with non-trivial normalisation statistics."""
    import keras
    from keras import layers

    def block(n):
        return [layers.Conv2D(n, 3, use_bias=False), layers.MaxPooling2D(2), layers.BatchNormalization(),
                layers.Activation("relu")]

    net = keras.Sequential([keras.Input((32, 32, 3)), *block(4), *block(8), layers.Flatten(),
                            layers.Dense(1, activation="sigmoid")])
    rng = np.random.default_rng(1)
    norm = net.layers[-4]
    gamma = rng.uniform(0.5, 1.5, 8)
    gamma[0] *= gamma_sign
    norm.set_weights([gamma, rng.normal(0, 0.5, 8), rng.normal(0, 0.1, 8), rng.uniform(0.01, 0.1, 8)])
    return net


@pytest.mark.parametrize("gamma_sign, expected_size", [(1.0, 13), (-1.0, 6)])
def test_a_block_normalised_after_pooling_is_explained_at_the_convolutions_size(gamma_sign, expected_size):
    """Conv → pool → BN → ReLU: the map is ReLU(BN(conv)) at 13×13, pooled afterwards, giving the model's own
    output. A negative scale does not commute with max pooling: then the block's 6×6 output is explained."""
    import tensorflow as tf

    net = _pool_then_normalise(gamma_sign)
    index = gradcam.last_conv_block_index(net)
    assert type(net.layers[index]).__name__ == "Conv2D" and net.layers[index].output.shape[1] == 13
    image = np.random.default_rng(0).random((32, 32, 3), dtype="float32")
    with tf.GradientTape() as tape:
        features, output = gradcam._forward(net, tf.constant(image[None]), net.layers[index], tape)
    assert features.shape[1] == expected_size and float(tf.reduce_min(features)) >= 0.0  # after the ReLU
    np.testing.assert_allclose(output.numpy(), net(image[None], training=False).numpy(), rtol=1e-5, atol=1e-6)
    heatmap = gradcam.gradcam(net, image)
    assert heatmap.shape == (32, 32) and heatmap.min() >= 0.0 and heatmap.max() <= 1.0


def test_centre_share_tells_centre_from_border():
    centre = np.zeros((40, 40))
    centre[15:25, 15:25] = 1.0
    border = np.ones((40, 40))
    border[10:30, 10:30] = 0.0
    assert gradcam.centre_share(centre) == pytest.approx(1.0)
    assert gradcam.centre_share(border) == pytest.approx(0.0)
    assert gradcam.centre_share(np.ones((40, 40))) == pytest.approx(gradcam.centre_area((40, 40))) == 0.25
    assert np.isnan(gradcam.centre_share(np.zeros((8, 8))))


def test_colorbar_is_added_to_a_figure_of_overlays():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3)
    bar = gradcam.add_colorbar(fig, axes[1])
    assert bar.ax in fig.axes and bar.mappable.norm.vmax == 1
    plt.close(fig)
