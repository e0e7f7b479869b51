"""Predict cat or dog for image files and folders, with the model the notebooks trained.

Command line::

    python -m catsdogs.predict photo.jpg more_photos/ [--model models/best.keras]
    python -m catsdogs.predict photo.jpg --model models/transfer.keras   # notebook 07's model

prints one tab-separated line per image: the file, the predicted label, and the model's
confidence in that label (a probability between 0.5 and 1). Files that cannot be used get
a message on stderr and do not stop the others; the exit code is 0 when every image was
predicted, 1 when some were not, and 2 when nothing could be done (no model, say).
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import artifacts, paths
from .data import IMAGE_FORMATS
from .images import ImageInputError, label_for, load_for_model

#: Extensions taken from folders (files named explicitly are always tried).
FOLDER_SUFFIXES = set(IMAGE_FORMATS) | {".gif", ".webp"}


@dataclass
class Prediction:
    name: str
    label: str
    probability: float  # the model output: probability of class index 1
    confidence: float  # probability of the predicted label


def model_image_size(model) -> tuple[int, int] | None:
    """The (height, width) a model was built for, or None if its input takes any size.

    Each model records its own input size, so a model trained at another size than the data
    configuration's (notebook 07's, for example) gets its photos resized to fit it.
    """
    shape = getattr(model, "input_shape", None)
    if isinstance(shape, tuple) and len(shape) == 4 and all(isinstance(n, int) for n in shape[1:3]):
        return int(shape[1]), int(shape[2])
    return None


class ModelNotReadyError(RuntimeError):
    """No trained model (or its data configuration) is there to predict with."""


class Predictor:
    """A trained model with the preprocessing and class names it was trained with."""

    def __init__(self, model, data_config: dict, threshold: float = 0.5):
        self.model = model
        self.image_size = model_image_size(model) or tuple(data_config["image_size"])
        self.rescale = float(data_config["rescale"])
        self.interpolation = data_config.get("interpolation", "nearest")
        self.class_indices = dict(data_config["class_indices"])
        self.threshold = threshold

    @classmethod
    def load(cls, model_path: str | os.PathLike | None = None, workdir=None, threshold: float = 0.5) -> Predictor:
        ws = paths.workspace(workdir)
        model_path = Path(model_path) if model_path else ws.models / "best.keras"
        try:
            config = artifacts.load_json(artifacts.data_config_path(ws))
            model = artifacts.load_model(model_path)
        except FileNotFoundError as error:
            raise ModelNotReadyError(str(error)) from error
        except (OSError, ValueError) as error:
            producer = artifacts.PRODUCERS.get(model_path.name, "03_training.ipynb")
            raise ModelNotReadyError(
                f"{model_path.name} could not be loaded ({error}). Run notebook {producer} "
                "again to make a fresh model."
            ) from error
        return cls(model, config, threshold)

    def preprocess(self, source, name: str | None = None) -> np.ndarray:
        return load_for_model(source, self.image_size, self.rescale, self.interpolation, name=name)

    def predict_arrays(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities of class 1 for a batch of preprocessed images.

        ``predict_on_batch`` runs the model as one compiled TensorFlow graph (built on the first
        call); calling ``model(batch)`` would run it layer by layer from Python, which costs
        several times more for a single photo (see benchmarks/README.md).
        """
        return np.asarray(self.model.predict_on_batch(np.asarray(batch, dtype="float32"))).reshape(-1)

    def result(self, name: str, probability: float) -> Prediction:
        label = label_for(probability, self.class_indices, self.threshold)
        confidence = probability if self.class_indices[label] == 1 else 1 - probability
        return Prediction(name, label, float(probability), float(confidence))

    def predict(self, source, name: str | None = None) -> Prediction:
        """One image (a path or the bytes of an upload); raises ImageInputError for bad input."""
        image = self.preprocess(source, name)
        name = name or (Path(source).name if not isinstance(source, (bytes, bytearray)) else "upload")
        return self.result(name, self.predict_arrays(image[np.newaxis])[0])


def expand_inputs(inputs: list[str]) -> list[Path]:
    """Files as given, and the image files inside given folders (recursively, sorted)."""
    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*")
                if p.is_file() and p.suffix.lower() in FOLDER_SUFFIXES and not p.name.startswith(".")
            )
            if not found:
                files.append(path)  # reported as "a folder with no images" below
            files.extend(found)
        else:
            files.append(path)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m catsdogs.predict",
        description="Predict cat or dog for image files and folders. Prints: file, label, confidence.",
    )
    parser.add_argument("inputs", nargs="+", help="image files or folders of images")
    parser.add_argument(
        "--model", help="a saved .keras model (default: models/best.keras; notebook 07's: models/transfer.keras)"
    )
    parser.add_argument("--workdir", help="the tutorial's workspace (default: the repository)")
    parser.add_argument("--threshold", type=float, default=0.5, help="probability above which class 1 is chosen")
    args = parser.parse_args(argv)

    from .env import quiet_tensorflow

    quiet_tensorflow()
    try:
        predictor = Predictor.load(args.model, args.workdir, args.threshold)
    except ModelNotReadyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    failures = 0
    for path in expand_inputs(args.inputs):
        try:
            if path.is_dir():
                raise ImageInputError(f"{path}: a folder with no image files")
            prediction = predictor.predict(path, name=str(path))
        except ImageInputError as error:
            failures += 1
            print(f"error: {error}", file=sys.stderr)
            continue
        print(f"{prediction.name}\t{prediction.label}\t{prediction.confidence:.3f}", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
