"""Reading and writing what one notebook hands to the next.

Writes are atomic (a temporary file renamed into place), so a crash never leaves a
half-written artifact behind, and a missing artifact names the notebook that makes it.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .paths import Workspace

#: artifact file name -> the notebook that writes it
PRODUCERS = {
    "data_config.json": "01_data.ipynb",
    "untrained.keras": "02_model.ipynb",
    "best.keras": "03_training.ipynb",
    "history.json": "03_training.ipynb",
    "metrics.json": "04_evaluation.ipynb",
    "transfer.keras": "07_transfer_learning.ipynb",
    "transfer_metrics.json": "07_transfer_learning.ipynb",
    "transfer_history.json": "07_transfer_learning.ipynb",
    "model_comparison.json": "07_transfer_learning.ipynb",
}


class MissingArtifactError(FileNotFoundError):
    """An input a notebook needs has not been made yet; the message names the notebook."""


def readable_by_all(path: str | os.PathLike) -> None:
    """Give a file made by ``tempfile.mkstemp`` (mode 0600) the usual permissions of a new file."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        readable_by_all(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_json(path: Path, payload: Any) -> Path:
    return atomic_write_bytes(path, (json.dumps(payload, indent=2, sort_keys=False) + "\n").encode())


def require(path: Path) -> Path:
    """Return ``path`` if it exists, else say which notebook to run first."""
    if path.exists():
        return path
    producer = PRODUCERS.get(path.name, "the earlier notebooks")
    raise MissingArtifactError(
        f"{path.name} is missing from {path.parent.name}/: run {producer} first "
        "(the notebooks build on each other, in order)."
    )


def load_json(path: Path) -> Any:
    return json.loads(require(path).read_text())


def data_config_path(ws: Workspace) -> Path:
    return ws.models / "data_config.json"


def save_data_config(ws: Workspace, config: dict) -> Path:
    return save_json(data_config_path(ws), config)


def load_data_config(ws: Workspace) -> dict:
    """The data configuration notebook 01 saved, with its folders made absolute again."""
    config = load_json(data_config_path(ws))
    for key in ("train_dir", "validation_dir"):
        config[key] = str(ws.root / config[key])
    return config


def save_model(model, path: Path) -> Path:
    """Save a Keras model via a temporary file, so an interrupted save never replaces a good one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and not optimizer.built:
        # An unbuilt optimizer is saved without its slots; loading it then warns
        # "Skipping variable loading for optimizer". Building it first avoids that.
        optimizer.build(model.trainable_variables)
    tmp = path.with_name("." + path.stem + ".tmp" + path.suffix)
    model.save(tmp)
    os.replace(tmp, path)
    return path


def load_model(path: Path):
    import keras

    return keras.models.load_model(require(path))


def save_figure(fig, ws: Workspace, name: str, dpi: int = 100) -> Path:
    """Save a matplotlib figure as ``figures/<name>.png`` at a size that reads well on GitHub."""
    path = ws.figures / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name("." + path.name)
    fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png")
    os.replace(tmp, path)
    return path
