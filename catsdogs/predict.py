"""Predict cat or dog for image files and folders, with the model the notebooks trained.

Command line::

    python -m catsdogs.predict photo.jpg more_photos/ [--model models/best.keras]

answers with notebook 07's fine-tuned MobileNetV2 (``models/transfer.keras``) when it has been
trained, else with notebook 03's CNN (``models/best.keras``); ``--model`` chooses. It says which
model answers (on stderr), then prints one tab-separated line per image: the file, the predicted
label, and the model's confidence in that label (a probability between 0.5 and 1). Files that
cannot be used get a message on stderr and do not stop the others; the exit code is 0 when every image was
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
from .images import FORMATS_TEXT, SUFFIXES, ImageInputError, label_for, model_array, open_image


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
    """No usable trained model (or data configuration) is there to predict with; the message says why."""


def _available_models(ws: paths.Workspace) -> str:
    found = sorted(p.name for p in ws.models.glob("*.keras") if not p.name.startswith(".")) if ws.models.is_dir() else []
    return f"Models in models/: {', '.join(found)}." if found else "There is no model in models/ yet."


#: The models the tools answer with when none is chosen, best first: MobileNetV2 fine-tuned by notebook 07
#: is the better classifier (on the validation photos and on photos from elsewhere, notebook 08); the
#: CNN of notebook 03 answers until it exists.
DEFAULT_MODELS = ("transfer.keras", "best.keras")


def default_model_path(ws: paths.Workspace) -> Path:
    """``models/transfer.keras`` if notebook 07 has saved it, else ``models/best.keras``."""
    for name in DEFAULT_MODELS:
        if (ws.models / name).is_file():
            return ws.models / name
    return ws.models / DEFAULT_MODELS[-1]


def describe_model(path: Path) -> str:
    """``models/transfer.keras (MobileNetV2 fine-tuned, notebook 07)``: which model answers, for the user."""
    artifact = artifacts.ARTIFACTS.get(Path(path).name)
    shown = f"models/{Path(path).name}" if artifact else Path(path).name
    return f"{shown} ({artifact.what}, {artifact.notebook})" if artifact else shown


class Predictor:
    """A trained model with the preprocessing and class names it was trained with."""

    def __init__(self, model, data_config: dict, threshold: float = 0.5, path: Path | None = None):
        self.model = model
        self.path = path  # the file it was loaded from, if any
        self.image_size = model_image_size(model) or tuple(data_config["image_size"])
        self.rescale = float(data_config["rescale"])
        self.interpolation = data_config.get("interpolation", "nearest")
        self.class_indices = dict(data_config["class_indices"])
        self.threshold = threshold

    @classmethod
    def load(cls, model_path: str | os.PathLike | None = None, workdir=None, threshold: float = 0.5) -> Predictor:
        """The model at ``model_path`` (default: :func:`default_model_path`) with the workspace's data configuration.

        Reads only: nothing is created in the workspace. Every problem (no workspace, no model,
        a damaged or foreign model, a damaged data configuration) raises
        :class:`ModelNotReadyError` with a message that names the file and what makes it.
        """
        try:
            ws = paths.workspace(workdir, create=False)
        except paths.WorkspaceError as error:
            raise ModelNotReadyError(str(error)) from None
        if model_path:
            model_path = Path(model_path).expanduser()
            if not model_path.is_file():
                what = "is a folder, not a model file" if model_path.is_dir() else "no such file"
                raise ModelNotReadyError(f"--model {model_path.name}: {what}. {_available_models(ws)}")
        else:
            model_path = default_model_path(ws)
        try:
            config = artifacts.load_data_config(ws)
            model = artifacts.load_model(model_path)
            artifacts.check_binary_model(model, model_path)
        except artifacts.ArtifactError as error:
            raise ModelNotReadyError(str(error)) from None
        return cls(model, config, threshold, model_path)

    def preprocess_image(self, image) -> np.ndarray:
        """A decoded 8-bit RGB image (``images.open_image(...).image``) as this model's input."""
        return model_array(image, self.image_size, self.rescale, self.interpolation)

    def preprocess(self, source, name: str | None = None) -> np.ndarray:
        """A file path or the bytes of an upload as this model's input; raises ImageInputError."""
        return self.preprocess_image(open_image(source, name).image)

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


def _images_in(folder: Path) -> list[Path]:
    """The image files in ``folder`` and its sub-folders, sorted; hidden entries and links to folders skipped."""
    found = []
    for parent, dirs, files in os.walk(folder):  # os.walk does not follow links to folders: no loops
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(parent) / f for f in files if not f.startswith(".") and Path(f).suffix.lower() in SUFFIXES]
    return sorted(found)


def expand_inputs(inputs: list[str]) -> list[Path]:
    """Files as given, and the image files inside given folders (recursively, sorted).

    Only files with the extension of a format the tool reads are taken from folders; a file
    named explicitly is always tried, and refused with a message if it is not such an image.
    """
    files: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = _images_in(path)
            files.extend(found or [path])  # an empty folder is reported as "a folder with no images" below
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
        "--model", help="a saved .keras model (default: models/transfer.keras if notebook 07 made it, "
                        "else models/best.keras)"
    )
    parser.add_argument("--workdir", help="the tutorial's workspace (default: the repository)")
    parser.add_argument("--threshold", type=float, default=0.5, help="probability above which class 1 is chosen")
    args = parser.parse_args(argv)
    if not 0.0 <= args.threshold <= 1.0:
        parser.error(f"--threshold {args.threshold:g}: a probability between 0 and 1 is expected")

    from .env import quiet_tensorflow

    quiet_tensorflow()
    try:
        predictor = Predictor.load(args.model, args.workdir, args.threshold)
    except ModelNotReadyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"model: {describe_model(predictor.path)}", file=sys.stderr, flush=True)

    failures = 0
    for path in expand_inputs(args.inputs):
        try:
            if path.is_dir():
                raise ImageInputError(f"{path}: a folder with no image files ({FORMATS_TEXT})", "folder")
            prediction = predictor.predict(path, name=str(path))
        except ImageInputError as error:
            failures += 1
            print(f"error: {error}", file=sys.stderr, flush=True)
            continue
        except Exception as error:  # one file must never stop the others
            failures += 1
            print(f"error: {path}: could not be predicted ({type(error).__name__}: {error})", file=sys.stderr,
                  flush=True)
            continue
        print(f"{prediction.name}\t{prediction.label}\t{prediction.confidence:.3f}", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
