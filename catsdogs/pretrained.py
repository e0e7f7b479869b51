"""Finding the pretrained MobileNetV2 weights, online or offline.

``keras.applications.MobileNetV2(weights="imagenet")`` downloads its weights the first time
into the Keras cache (``$KERAS_HOME/models/``, else ``~/.keras/models/``) and reuses them
afterwards. On a machine without network that first download fails deep inside Keras with
a ``URL fetch failure`` stack trace. :func:`resolve_weights` does the looking-up itself, in
this order, and returns what to pass as ``weights=``:

1. ``weights=None`` (or ``"none"``): random initial weights, no file needed (tests, smoke runs);
2. ``weights=<path to an .h5 file>``: that file;
3. ``weights="imagenet"`` and ``$CATSDOGS_MOBILENET_WEIGHTS`` set: the file it names;
4. ``weights="imagenet"``: the official file in the Keras cache, downloaded there if missing.

When none of these works, :class:`WeightsError` says which file to put in which folder, or
which variable to set. Every file is checked (an HDF5 file, readable, without the ImageNet
classifier) before Keras sees it, so a truncated download or a wrong file is named as such.

A file is always handed to Keras as a *path*: Keras then loads it at any input size without
the warning it gives for sizes it has no file for (such as our 150×150).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

WEIGHTS_ENV = "CATSDOGS_MOBILENET_WEIGHTS"
BASE_URL = "https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/"
#: Input sizes with their own official weight file; Keras uses the 224 file for any other size.
OFFICIAL_SIZES = (96, 128, 160, 192, 224)
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
DOWNLOAD_TIMEOUT = 60.0  # seconds without an answer before a download is given up


class WeightsError(RuntimeError):
    """The pretrained weights cannot be found or used. The message says what to do."""

    def _render_traceback_(self) -> list[str]:
        # IPython/Jupyter show this instead of a stack trace: the message is the useful part.
        return [f"{type(self).__name__}: {self}"]


@dataclass(frozen=True)
class ResolvedWeights:
    """What to pass to ``MobileNetV2(weights=...)`` and where it came from."""

    weights: str | None  # a file path, or None for random initial weights
    source: str  # one line for a reader: where the weights come from

    @property
    def pretrained(self) -> bool:
        return self.weights is not None


def official_file_name(image_size: int, alpha: float = 1.0) -> str:
    """The file Keras looks for with ``weights="imagenet"``, ``include_top=False``."""
    rows = image_size if image_size in OFFICIAL_SIZES else 224
    return f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}_no_top.h5"


def keras_cache_dir() -> Path:
    """The folder Keras keeps downloaded weights in: ``$KERAS_HOME/models``, else ``~/.keras/models``.

    Same rule as Keras itself (including its fallback to ``/tmp/.keras`` when the home folder is
    not writable), read when called, so that a changed ``KERAS_HOME`` is seen.
    """
    if "KERAS_HOME" in os.environ:
        home = Path(os.environ["KERAS_HOME"]).expanduser()
    else:
        base = Path("~").expanduser()
        home = (base if os.access(base, os.W_OK) else Path("/tmp")) / ".keras"
    return home / "models"


def offline_instructions(image_size: int, alpha: float = 1.0) -> str:
    name = official_file_name(image_size, alpha)
    return (
        "To use the weights offline, do one of these:\n"
        f"  * put the file {name}\n"
        f"    into the folder {keras_cache_dir()}/\n"
        f"    (download it on a machine with network from {BASE_URL}{name}), or\n"
        f"  * set the environment variable {WEIGHTS_ENV} to the path of a MobileNetV2 (alpha {float(alpha)})\n"
        "    no-top ImageNet .h5 weights file, e.g. a classroom copy (set it before starting Jupyter), or\n"
        "  * pass that path as the `weights` parameter of the notebook.\n"
        "(`weights=None` trains without pretrained weights: it runs, but learns little; a smoke test only.)"
    )


def check_weights_file(path: Path, what: str) -> Path:
    """Raise :class:`WeightsError` unless ``path`` is a readable no-top HDF5 weights file."""
    path = Path(path).expanduser()
    if not path.exists():
        raise WeightsError(f"{what} {path} does not exist.")
    if path.is_dir():
        raise WeightsError(f"{what} {path} is a folder; it must be the .h5 weights file itself.")
    with open(path, "rb") as handle:
        head = handle.read(len(HDF5_SIGNATURE))
    if head != HDF5_SIGNATURE:
        raise WeightsError(
            f"{what} {path} is not an HDF5 weights file (it does not start with the HDF5 signature): "
            "an error page saved instead of the file, or a different format. Replace it with the .h5 file."
        )
    if path.suffix != ".h5" or path.name.endswith(".weights.h5"):
        raise WeightsError(
            f"{what} {path} must end in .h5 (and not in .weights.h5): Keras picks its loader by the ending, "
            "and the Keras Applications files need the one for plain .h5 names. Rename the file (or a copy)."
        )
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            layer_names = [n.decode() if isinstance(n, bytes) else str(n) for n in h5.attrs.get("layer_names", [])]
            groups = list(h5.keys())
    except OSError as error:
        raise WeightsError(
            f"{what} {path} cannot be read as HDF5 ({error}): probably an interrupted download. "
            "Delete it and download it again."
        ) from error
    if not groups:
        raise WeightsError(f"{what} {path} holds no weights. Delete it and download it again.")
    if any(name in {"Logits", "predictions"} for name in layer_names):
        raise WeightsError(
            f"{what} {path} holds the full ImageNet model, classifier included. The notebook needs the "
            "feature extractor only: the file whose name ends in _no_top.h5."
        )
    return path


def _download(name: str, base_url: str, cache: Path, timeout: float) -> Path:
    import keras

    cache.mkdir(parents=True, exist_ok=True)  # else Keras silently downloads into /tmp/.keras instead
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)  # Keras' download has no timeout of its own
    try:
        return Path(keras.utils.get_file(name, base_url + name, cache_subdir=cache.name, cache_dir=str(cache.parent)))
    finally:
        socket.setdefaulttimeout(previous)


def resolve_weights(
    weights: str | os.PathLike | None = "imagenet",
    image_size: int = 224,
    alpha: float = 1.0,
    download: bool = True,
    base_url: str = BASE_URL,
    timeout: float = DOWNLOAD_TIMEOUT,
) -> ResolvedWeights:
    """Find the weights for a no-top MobileNetV2 with square inputs of ``image_size`` pixels.

    ``weights`` is ``"imagenet"``, ``None`` (random) or a path to an .h5 file. See the module
    documentation for the order in which places are tried.
    """
    if weights is None or (isinstance(weights, str) and weights.lower() in {"none", "random", ""}):
        return ResolvedWeights(None, "none: random initial weights (nothing pretrained)")
    if not (isinstance(weights, str) and weights.lower() == "imagenet"):
        path = check_weights_file(Path(weights), "The weights file")
        return ResolvedWeights(str(path), f"the file given as the weights parameter ({path.name})")

    from_env = os.environ.get(WEIGHTS_ENV, "").strip()
    if from_env:
        path = check_weights_file(Path(from_env), f"${WEIGHTS_ENV} points at")
        return ResolvedWeights(str(path), f"ImageNet weights from ${WEIGHTS_ENV} ({path.name})")

    name = official_file_name(image_size, alpha)
    cache = keras_cache_dir()
    cached = cache / name
    if cached.exists():
        check_weights_file(cached, "The cached weights file")
        return ResolvedWeights(str(cached), f"ImageNet weights from the Keras cache ({name})")
    if not download:
        raise WeightsError(f"The ImageNet weights are not in the Keras cache.\n{offline_instructions(image_size, alpha)}")
    try:
        path = _download(name, base_url, cache, timeout)
    except Exception as error:  # Keras wraps every network failure in a plain Exception
        raise WeightsError(
            f"The ImageNet weights are not in the Keras cache, and downloading them failed ({error}).\n"
            f"{offline_instructions(image_size, alpha)}"
        ) from None
    check_weights_file(path, "The downloaded weights file")
    return ResolvedWeights(str(path), f"ImageNet weights, downloaded into the Keras cache ({name})")
