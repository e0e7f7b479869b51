"""Reading and writing what one notebook hands to the next.

:data:`ARTIFACTS` is the one table of hand-offs: each file, the notebook that writes it, and
its folder in the workspace; the notebooks, the prediction command, the web page and the
runner all find files through it. Writes are atomic (a temporary file renamed into place), so
a crash never leaves a half-written artifact behind. Reading an artifact that is missing,
damaged or of the wrong kind raises :class:`ArtifactError` with a message that names the
file, says what is wrong, and names the notebook that makes it.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NotRequired, TypedDict

from .images import INTERPOLATIONS
from .paths import Workspace


@dataclass(frozen=True)
class Artifact:
    """One file a notebook writes for the notebooks, tools and pages after it."""

    name: str
    folder: str  # "models" or "results": an attribute of Workspace
    notebook: str  # the notebook that writes it
    what: str

    def path(self, ws: Workspace) -> Path:
        return getattr(ws, self.folder) / self.name


#: The hand-offs between notebooks: file -> (folder, the notebook that writes it, what it is).
ARTIFACTS: dict[str, Artifact] = {a.name: a for a in (
    Artifact("data_config.json", "models", "01_data.ipynb", "where the photos are and how they are read"),
    Artifact("untrained.keras", "models", "02_model.ipynb", "the CNN, compiled, before training"),
    Artifact("best.keras", "models", "03_training.ipynb", "the CNN at its best validation epoch"),
    Artifact("final.keras", "models", "03_training.ipynb", "the CNN after the last epoch"),
    Artifact("history.json", "results", "03_training.ipynb", "accuracy and loss per epoch"),
    Artifact("metrics.json", "results", "04_evaluation.ipynb", "the evaluation of the CNN"),
    Artifact("transfer.keras", "models", "07_transfer_learning.ipynb", "MobileNetV2, fine-tuned"),
    Artifact("transfer_metrics.json", "results", "07_transfer_learning.ipynb", "the evaluation of MobileNetV2"),
    Artifact("transfer_history.json", "results", "07_transfer_learning.ipynb", "its accuracy and loss per epoch"),
    Artifact("model_comparison.json", "results", "07_transfer_learning.ipynb", "the CNN and MobileNetV2 side by side"),
)}
#: artifact file name -> the notebook that writes it
PRODUCERS = {name: artifact.notebook for name, artifact in ARTIFACTS.items()}


class ArtifactError(RuntimeError):
    """An artifact is missing, damaged or of the wrong kind. The message names the file and the fix."""


class MissingArtifactError(ArtifactError, FileNotFoundError):
    """An input a notebook needs has not been made yet; the message names the notebook."""


def producer_of(path: Path) -> str:
    """The notebook that makes ``path``, for messages."""
    name = Path(path).name
    if name in PRODUCERS:
        return PRODUCERS[name]
    if name.endswith(".keras"):
        return f"the notebook that made it ({PRODUCERS['best.keras']} or {PRODUCERS['transfer.keras']})"
    return "the notebook that made it"


def _shown(path: Path) -> str:
    """``models/best.keras`` for a workspace artifact, else the file's name: never a machine path."""
    path = Path(path)
    return f"{path.parent.name}/{path.name}" if path.parent.name in ("models", "results") else path.name


# --------------------------------------------------------------------------- writing


def readable_by_all(path: str | os.PathLike) -> None:
    """Give a file made by ``tempfile.mkstemp`` (mode 0600) the usual permissions of a new file."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def atomic_write(path: Path, write) -> Path:
    """Call ``write(temporary_path)``, then rename the temporary file to ``path``.

    The one atomic-write helper: JSON, figures, models and notebooks are all written this way,
    so an interrupted write never replaces a good file with half of a new one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + path.stem + ".", suffix=".tmp" + path.suffix, dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        readable_by_all(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def save_json(path: Path, payload: Any) -> Path:
    return atomic_write_bytes(path, (json.dumps(payload, indent=2, sort_keys=False) + "\n").encode())


def save_model(model, path: Path) -> Path:
    """Save a Keras model via a temporary file, so an interrupted save never replaces a good one."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and not optimizer.built:
        # An unbuilt optimizer is saved without its slots; loading it then warns
        # "Skipping variable loading for optimizer". Building it first avoids that.
        optimizer.build(model.trainable_variables)
    return atomic_write(path, lambda tmp: model.save(tmp))


def save_figure(fig, ws: Workspace, name: str, dpi: int = 100) -> Path:
    """Save a matplotlib figure as ``figures/<name>.png`` at a size that reads well on GitHub."""
    return atomic_write(ws.figures / f"{name}.png",
                        lambda tmp: fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png"))


# --------------------------------------------------------------------------- reading


def require(path: Path) -> Path:
    """Return ``path`` if it is a file, else say which notebook to run first."""
    path = Path(path)
    if path.is_file():
        return path
    if path.exists():
        raise ArtifactError(f"{_shown(path)} is a folder, not a file: move it away and run "
                            f"{producer_of(path)} again.")
    if path.name in PRODUCERS:
        raise MissingArtifactError(
            f"{_shown(path)} is missing: run {producer_of(path)} first "
            "(the notebooks build on each other, in order)."
        )
    raise MissingArtifactError(f"{_shown(path)}: no such file.")


def load_json(path: Path) -> Any:
    try:
        return json.loads(require(path).read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise ArtifactError(
            f"{_shown(path)} is damaged: it is not valid JSON ({error}). Run {producer_of(path)} again "
            "to write it afresh."
        ) from None


class DataConfig(TypedDict):
    """``models/data_config.json``: what notebook 01 tells every later notebook and tool about the data.

    The folders are stored relative to the workspace and returned absolute by :func:`load_data_config`.
    """

    train_dir: str
    validation_dir: str
    image_size: list[int]  # [height, width]
    batch_size: int
    class_mode: str  # "binary"
    class_indices: dict[str, int]  # {"cats": 0, "dogs": 1}
    rescale: float
    interpolation: str  # how photos are shrunk: "bilinear" or "nearest"
    # Written by notebook 01 for the notebooks after it; the tools do without them.
    augmentation: NotRequired[dict[str, Any]]  # ImageDataGenerator's arguments
    colour_augmentation: NotRequired[dict[str, Any]]  # catsdogs.colour's settings ({}: none)
    seed: NotRequired[int]
    counts: NotRequired[dict[str, dict[str, int]]]  # split -> class -> images
    source: NotRequired[str]
    quarantined: NotRequired[int]


#: Each field of DataConfig and the Python types its JSON value may have.
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "train_dir": (str,), "validation_dir": (str,), "image_size": (list,), "batch_size": (int,),
    "class_mode": (str,), "class_indices": (dict,), "rescale": (int, float), "interpolation": (str,),
    "augmentation": (dict,), "colour_augmentation": (dict,),
    "seed": (int,), "counts": (dict,), "source": (str,), "quarantined": (int,),
}


#: The fields every reader needs; the others are written by notebook 01 for the notebooks after it.
REQUIRED_FIELDS = ("train_dir", "validation_dir", "image_size", "batch_size", "class_mode", "class_indices",
                   "rescale", "interpolation")


def data_config_path(ws: Workspace) -> Path:
    return ARTIFACTS["data_config.json"].path(ws)


def check_data_config(config: Any, shown: str = "models/data_config.json") -> DataConfig:
    """``config`` if it has every field of :class:`DataConfig` with a value of the right type."""
    fix = f"Run {PRODUCERS['data_config.json']} again to write it afresh."
    if not isinstance(config, dict):
        raise ArtifactError(f"{shown} is damaged: it holds a {type(config).__name__}, not the data "
                            f"configuration. {fix}")
    missing = [key for key in REQUIRED_FIELDS if key not in config]
    if missing:
        raise ArtifactError(f"{shown} lacks {', '.join(map(repr, missing))} (an older version of the tutorial "
                            f"wrote it, or it was edited by hand). {fix}")
    wrong = [key for key, types in _FIELD_TYPES.items()
             if key in config and (not isinstance(config[key], types) or isinstance(config[key], bool))]
    size = config.get("image_size")
    if not (isinstance(size, list) and len(size) == 2 and all(isinstance(n, int) and n > 0 for n in size)):
        wrong.append("image_size")
    rescale = config.get("rescale")
    if isinstance(rescale, (int, float)) and not (0 < rescale < float("inf")):
        wrong.append("rescale")
    if config.get("interpolation") not in INTERPOLATIONS:
        wrong.append("interpolation")
    if config.get("class_mode") != "binary":
        wrong.append("class_mode")
    if not isinstance(config.get("batch_size"), int) or config["batch_size"] < 1:
        wrong.append("batch_size")
    indices = config.get("class_indices")
    if not (isinstance(indices, dict) and sorted(indices.values()) == [0, 1]):
        wrong.append("class_indices")
    if wrong:
        raise ArtifactError(f"{shown} has a wrong value for {', '.join(map(repr, sorted(set(wrong))))} "
                            "(class_indices must name two classes, 0 and 1; image_size two sizes; rescale a positive "
                            f"number; interpolation one of {', '.join(INTERPOLATIONS)}; class_mode 'binary'). {fix}")
    return config  # type: ignore[return-value]


def save_data_config(ws: Workspace, config: DataConfig) -> Path:
    return save_json(data_config_path(ws), dict(check_data_config(config)))


def load_data_config(ws: Workspace) -> DataConfig:
    """The data configuration notebook 01 saved, checked, with its folders made absolute again."""
    config = check_data_config(load_json(data_config_path(ws)))
    for key in ("train_dir", "validation_dir"):
        config[key] = str(ws.root / config[key])
    return config


def class_names(config: DataConfig) -> list[str]:
    """The class names in index order: ``["cats", "dogs"]``."""
    return sorted(config["class_indices"], key=config["class_indices"].get)


def check_class_indices(found: dict[str, int], config: DataConfig, where: str = "the data folder") -> None:
    """Refuse to go on when the classes Keras found are not the ones notebook 01 saved.

    A model trained with one mapping of folders to labels and used with another answers
    with the labels swapped, or with a class that was never meant to be one.
    """
    expected = dict(config["class_indices"])
    if dict(found) != expected:
        raise ArtifactError(
            f"The classes in {where} are {dict(found)}, but models/data_config.json says {expected}: the class "
            f"folders changed since {PRODUCERS['data_config.json']} ran. Run the notebooks again from "
            f"{PRODUCERS['data_config.json']} on."
        )


def load_model(path: Path):
    """A saved Keras model; a missing, damaged or foreign file raises :class:`ArtifactError`."""
    import keras

    path = require(path)
    fix = f"Run {producer_of(path)} again to save a fresh model."
    if path.suffix != ".keras":
        raise ArtifactError(f"{path.name} is not a .keras model file (the tutorial saves models as "
                            f"models/best.keras and models/transfer.keras).")
    if not zipfile.is_zipfile(path):
        raise ArtifactError(f"{_shown(path)} is damaged: a .keras file is a zip archive, and this one is "
                            f"truncated or not a model (an interrupted copy?). {fix}")
    try:
        return keras.models.load_model(path)
    except Exception as error:  # Keras raises many types for a damaged file, with machine paths in them
        raise ArtifactError(f"{_shown(path)} could not be loaded: it is damaged or not a Keras model "
                            f"({type(error).__name__}). {fix}") from None


def check_binary_model(model, path: Path) -> None:
    """Refuse a model that is not one of the tutorial's: images in, one probability out."""
    name = Path(path).name
    try:
        inputs, outputs = model.input_shape, model.output_shape
    except (AttributeError, ValueError):
        inputs = outputs = None
    if not (isinstance(inputs, tuple) and len(inputs) == 4 and inputs[-1] == 3):
        raise ArtifactError(f"{name} takes input of shape {inputs}, not colour images (batch, height, width, 3): "
                            "it is not a model this tutorial made.")
    if not (isinstance(outputs, tuple) and len(outputs) == 2 and outputs[-1] == 1):
        raise ArtifactError(f"{name} has output shape {outputs}; the tutorial's tools need one sigmoid output per "
                            "photo, the probability of class 1 (models made by 03_training.ipynb or "
                            "07_transfer_learning.ipynb).")
