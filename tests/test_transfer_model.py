"""The transfer model of notebook 07 (a nested MobileNetV2 base) with the project's tools:
Grad-CAM, the prediction command and the evaluation report, after saving and loading."""

import numpy as np
import pytest

from catsdogs import artifacts, evaluation, gradcam, predict
from catsdogs.images import load_for_model

from .conftest import TINY_SIZE


@pytest.fixture(scope="module")
def model(tiny_transfer_model):
    return artifacts.load_model(tiny_transfer_model)


@pytest.fixture(scope="module")
def photos(tiny_workspace):
    return sorted((tiny_workspace.root / "photos").iterdir())


def test_the_nested_base_is_the_layer_grad_cam_explains(model):
    index = gradcam.last_conv_block_index(model)
    layer = model.layers[index]
    assert layer.name.startswith("mobilenetv2")
    assert len(layer.output.shape) == 4 and layer.output.shape[-1] == 1280


def test_grad_cam_works_on_the_loaded_transfer_model(model, photos):
    image = load_for_model(photos[0], (TINY_SIZE, TINY_SIZE))
    maps = [gradcam.gradcam(model, image, class_index=c) for c in (0, 1)]
    for heatmap in maps:
        assert heatmap.shape == (TINY_SIZE, TINY_SIZE)
        assert heatmap.min() >= 0.0 and heatmap.max() <= 1.0
    # the evidence for one class is the evidence against the other: at least one map shows something
    assert max(heatmap.std() for heatmap in maps) > 0.01
    assert not np.allclose(maps[0], maps[1])


def test_grad_cam_matches_a_direct_computation(model, photos):
    """The same map computed by hand: base output, gradient of the score, weighted sum, ReLU."""
    import tensorflow as tf

    image = load_for_model(photos[1], (TINY_SIZE, TINY_SIZE))
    rescale, base, pool, dropout, dense = model.layers[1:]
    for class_index in (0, 1):
        with tf.GradientTape() as tape:
            features = base(rescale(image[np.newaxis]), training=False)
            tape.watch(features)
            probability = dense(dropout(pool(features), training=False))[:, 0]
            score = probability if class_index == 1 else 1.0 - probability
        gradients = tape.gradient(score, features)
        cam = tf.nn.relu(tf.reduce_sum(tf.reduce_mean(gradients, axis=(1, 2), keepdims=True) * features, axis=-1))[0]
        peak = float(tf.reduce_max(cam))
        cam = cam / peak if peak > 0 else cam
        expected = tf.image.resize(cam[..., None], (TINY_SIZE, TINY_SIZE))[..., 0].numpy()
        actual = gradcam.gradcam(model, image, class_index=class_index)
        np.testing.assert_allclose(actual, np.clip(expected, 0, 1), atol=1e-5)


def test_the_model_takes_0_1_images_and_converts_them_like_preprocess_input():
    import keras

    pixels = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
    ours = keras.ops.convert_to_numpy(keras.layers.Rescaling(2.0, offset=-1.0)(pixels / 255))
    np.testing.assert_allclose(ours, keras.applications.mobilenet_v2.preprocess_input(pixels.copy()), atol=1e-5)


def test_fine_tuning_after_loading_keeps_batch_normalisation_statistics(tiny_transfer_model, photos):
    """Both safeguards (training=False on the base, frozen BatchNormalization layers) survive saving."""
    import keras

    model = artifacts.load_model(tiny_transfer_model)
    base = model.layers[2]
    norms = [layer for layer in base.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and not any(layer.trainable for layer in norms)
    before = [keras.ops.convert_to_numpy(layer.moving_mean).copy() for layer in norms]
    kernel = base.get_layer("Conv_1")
    kernel_before = keras.ops.convert_to_numpy(kernel.kernel).copy()
    batch = np.stack([load_for_model(p, (TINY_SIZE, TINY_SIZE)) for p in photos])
    labels = np.array([0 if p.name.startswith("cat") else 1 for p in photos])
    for _ in range(3):
        model.train_on_batch(batch, labels)
    assert all(np.array_equal(b, keras.ops.convert_to_numpy(layer.moving_mean)) for b, layer in zip(before, norms))
    assert not np.array_equal(kernel_before, keras.ops.convert_to_numpy(kernel.kernel))  # the upper layers did train


def test_prediction_command_uses_the_transfer_model(tiny_workspace, tiny_transfer_model, capsys):
    code = predict.main([str(tiny_workspace.root / "photos"), "--model", str(tiny_transfer_model),
                         "--workdir", str(tiny_workspace.root)])
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 4
    for line in lines:
        _, label, confidence = line.split("\t")
        assert label in {"cats", "dogs"} and 0.5 <= float(confidence) <= 1.0


def test_a_damaged_transfer_model_names_notebook_07(tiny_workspace, tmp_path, capsys):
    bad = tmp_path / "transfer.keras"
    bad.write_text("not a model")
    code = predict.main([str(tiny_workspace.root / "photos"), "--model", str(bad), "--workdir", str(tiny_workspace.root)])
    assert code == 2 and "07_transfer_learning" in capsys.readouterr().err


def test_evaluation_report_on_the_transfer_model(model, photos):
    y_true = np.array([0 if p.name.startswith("cat") else 1 for p in photos])
    batch = np.stack([load_for_model(p, (TINY_SIZE, TINY_SIZE)) for p in photos])
    probability = model.predict(batch, verbose=0).reshape(-1)
    report = evaluation.binary_report(y_true, probability, ["cats", "dogs"])
    assert report["n"] == len(photos)
    # with random base weights the scores are arbitrary (often all tied): the AUC must still be the share
    # of (cat, dog) pairs where the dog scores higher, ties counting half
    pairs = [(c, d) for c in probability[y_true == 0] for d in probability[y_true == 1]]
    assert report["roc_auc"] == pytest.approx(sum((d > c) + 0.5 * (d == c) for c, d in pairs) / len(pairs), abs=1e-6)
    assert report["accuracy"] == pytest.approx(np.mean((probability >= 0.5) == y_true))
