"""Grad-CAM: which regions of a photo pushed the model towards its answer.

Grad-CAM (Selvaraju et al., 2017) takes the feature maps of the last convolutional block,
weights each map by how much the class score changes when that map changes (the average
gradient), adds them up and keeps the positive part. The result is a coarse heatmap that is
resized to the photo.

The keras-io recipe builds ``keras.Model(model.inputs, [layer.output, model.output])``,
which fails on a ``Sequential`` model loaded in Keras 3 (its ``inputs``/``output`` are not
defined the way a functional model's are). Here we call the layers one after the other under
a ``GradientTape`` instead. That works for any ``Sequential`` model, and for a functional model
whose layers form a chain, such as the transfer-learning model of notebook 07:
``Input → Rescaling → MobileNetV2 base → pooling → dropout → Dense``. There the nested base
counts as one layer whose output is the last convolutional feature map, so it is the layer
explained by default.
"""

from __future__ import annotations

import numpy as np


def _chain(model) -> list:
    """The model's layers in call order, without the ``InputLayer`` a functional model lists first."""
    import keras

    return [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]


def last_conv_block_index(model) -> int:
    """Index (in ``model.layers``) of the last layer before ``Flatten``/global pooling whose output is a feature map.

    Pooling, dropout and batch normalisation layers are skipped: the last block's activations,
    before pooling, are the finest map that still feeds the classifier (batch normalisation
    after pooling would give a map half as fine). For a Conv → MaxPooling → BatchNormalization →
    ReLU block it is the convolution, explained after its normalisation and ReLU (see ``_forward``).
    A nested model (a pretrained base)
    counts as one layer; its output is its last feature map.
    """
    import keras

    skip = (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D, keras.layers.Dropout,
            keras.layers.BatchNormalization,
            keras.layers.InputLayer, keras.layers.Rescaling, keras.layers.Normalization)
    candidate = None
    for index, layer in enumerate(model.layers):
        if isinstance(layer, (keras.layers.Flatten, keras.layers.GlobalAveragePooling2D,
                              keras.layers.GlobalMaxPooling2D)):
            break
        shape = getattr(layer, "output", None)
        rank = len(shape.shape) if shape is not None else 0
        if rank == 4 and not isinstance(layer, skip):
            candidate = index
    if candidate is None:
        raise ValueError("no convolutional feature map found before the classifier")
    block = _normalised_after_pooling(model.layers, model.layers[candidate - 3]) if candidate >= 3 else None
    if block is not None and block[-1] is model.layers[candidate]:
        return candidate - 3  # Conv → pool → BN → ReLU: the convolution, normalised before pooling (see _forward)
    return candidate


def _normalised_after_pooling(chain: list, target) -> tuple | None:
    """``(pool, batch_norm, relu)`` when ``target`` is a linear convolution followed by exactly those layers.

    That is the block Conv → MaxPooling → BatchNormalization → ReLU. The convolution's own output is
    then the map *before* normalisation and ReLU: it is mostly negative, and Grad-CAM on it is often
    empty. Batch normalisation (at inference, one positive scale and a shift per channel) and the ReLU
    can be moved before the pooling without changing the result, which gives the finer, non-negative map.
    """
    import keras

    index = next((i for i, layer in enumerate(chain) if layer is target), None)
    if not isinstance(target, keras.layers.Conv2D) or index is None or len(chain) < index + 4:
        return None
    pool, norm, relu = chain[index + 1:index + 4]
    linear = getattr(target.activation, "__name__", "") == "linear"
    is_relu = (isinstance(relu, keras.layers.ReLU) and relu.max_value is None and not relu.negative_slope
               and not relu.threshold) or (isinstance(relu, keras.layers.Activation)
                                          and getattr(relu.activation, "__name__", "") == "relu")
    if not (linear and isinstance(pool, keras.layers.MaxPooling2D)
            and isinstance(norm, keras.layers.BatchNormalization) and is_relu):
        return None
    return pool, norm, relu


def _forward(model, inputs, target, tape):
    """Run the layers one by one; return the (watched) feature map to explain and the model's output.

    For Conv → MaxPooling → BatchNormalization → ReLU the map is ReLU(BN(conv)) at the convolution's
    size, pooled afterwards: the same output as the model's when every scale of the normalisation is
    positive (max pooling commutes with an increasing function per channel). Otherwise the block's
    pooled ReLU output is explained instead, coarser but exact.
    """
    import tensorflow as tf

    chain = _chain(model)
    moved = _normalised_after_pooling(chain, target)
    if moved is not None:
        pool, norm, relu = moved
        scale = norm.gamma if norm.scale else tf.ones_like(norm.moving_variance)
        if not bool(tf.reduce_all(scale > 0)):
            target, moved = relu, None  # not commutable: explain the block's output
    x, features, skip = inputs, None, moved or ()
    for layer in chain:
        if any(layer is s for s in skip):
            continue  # applied right after the target, in the moved order
        x = layer(x, training=False)
        if layer is target:
            features = relu(norm(x, training=False)) if moved is not None else x
            tape.watch(features)
            x = pool(features) if moved is not None else features
    return features, x


def gradcam(model, image: np.ndarray, layer_index: int | None = None, class_index: int | None = None) -> np.ndarray:
    """Heatmap in [0, 1] with the image's height and width.

    ``image`` is one preprocessed image ``(height, width, 3)``. ``class_index`` picks the
    class to explain for a single sigmoid output (1: the output itself, 0: one minus it);
    by default the predicted class. ``layer_index`` indexes ``model.layers``.
    """
    import tensorflow as tf

    if layer_index is None:
        layer_index = last_conv_block_index(model)
    inputs = tf.convert_to_tensor(image[np.newaxis], dtype=tf.float32)
    with tf.GradientTape() as tape:
        features, output = _forward(model, inputs, model.layers[layer_index], tape)
        probability = output[:, 0]
        if class_index is None:
            class_index = int(probability[0] >= 0.5)
        score = probability if class_index == 1 else 1.0 - probability
    gradients = tape.gradient(score, features)
    weights = tf.reduce_mean(gradients, axis=(1, 2), keepdims=True)  # one weight per feature map
    cam = tf.nn.relu(tf.reduce_sum(weights * features, axis=-1))[0]
    peak = float(tf.reduce_max(cam))
    cam = cam / peak if peak > 0 else cam
    heatmap = tf.image.resize(cam[..., tf.newaxis], image.shape[:2], method="bilinear")[..., 0]
    return np.clip(heatmap.numpy(), 0.0, 1.0)


def overlay(image: np.ndarray, heatmap: np.ndarray, alpha: float = 0.4) -> np.ndarray:
    """The heatmap in the 'jet' colours blended over an image with values in [0, 1]."""
    from matplotlib import colormaps

    coloured = colormaps["jet"](heatmap)[..., :3]
    return np.clip((1 - alpha) * image + alpha * coloured, 0.0, 1.0)


def centre_share(heatmap: np.ndarray, margin: float = 0.25) -> float:
    """The share of a heatmap's total heat inside the central box, ``margin`` of each side left out.

    Most photos of the data set show the animal near the middle. With ``margin=0.25`` the centre
    covers a quarter of the photo's area, so a heatmap spread evenly gives 0.25; a clearly
    larger share means the heat lies on the middle of the photo, a smaller one on its border
    (often the background). An empty heatmap gives ``nan``.
    """
    heatmap = np.asarray(heatmap, dtype=float)
    top, left = _centre_margins(heatmap.shape, margin)
    height, width = heatmap.shape[:2]
    total = float(heatmap.sum())
    if total <= 0:
        return float("nan")
    return float(heatmap[top:height - top, left:width - left].sum()) / total


def _centre_margins(shape: tuple[int, ...], margin: float) -> tuple[int, int]:
    """Rows and columns left out at each side for the central box of :func:`centre_share`."""
    if not 0 <= margin < 0.5:
        raise ValueError(f"margin must be in [0, 0.5), got {margin}")
    return int(round(margin * shape[0])), int(round(margin * shape[1]))


def centre_area(shape: tuple[int, int], margin: float = 0.25) -> float:
    """The share of the photo's area inside the central box of :func:`centre_share` (what even heat gives)."""
    height, width = shape[:2]
    top, left = _centre_margins(shape, margin)
    return (height - 2 * top) * (width - 2 * left) / (height * width)


def add_colorbar(fig, axes, label: str = "Grad-CAM: pushed towards the answer"):
    """A colour bar for heatmaps drawn with :func:`overlay` ('jet', 0 = no influence, 1 = the strongest)."""
    import matplotlib.pyplot as plt

    colours = plt.cm.ScalarMappable(cmap="jet", norm=plt.Normalize(0, 1))
    return fig.colorbar(colours, ax=list(np.ravel(axes)), fraction=0.02, pad=0.01, label=label)
