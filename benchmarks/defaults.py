"""The tutorial's default parameters, read from the notebooks' ``parameters`` cells.

The benchmarks measure what the notebooks build, so they take the notebooks' defaults (image size,
interpolation, batch size, augmentation, seed, dropout, learning rate, epochs) from the notebooks themselves,
with ``papermill.inspect_notebook``, instead of copies that drift. tests/test_benchmark.py checks both this
and that ``common.build_model`` builds notebook 02's network.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cache

from catsdogs.tutorial import NOTEBOOK_DIR, declared_parameters


@cache
def notebook_defaults(stem: str) -> dict:
    """``{name: value}`` of one notebook's ``parameters`` cell, e.g. ``notebook_defaults("01_data")``."""
    return declared_parameters(NOTEBOOK_DIR / f"{stem}.ipynb")


@dataclass(frozen=True)
class TutorialDefaults:
    """What notebooks 01-03 do when run as they are (the committed run)."""

    image_size: int  # 01_data
    interpolation: str  # 01_data
    batch_size: int  # 01_data
    augmentation: dict  # 01_data: ImageDataGenerator arguments
    colour_augmentation: dict  # 01_data: catsdogs.colour settings ({}: none)
    seed: int  # 01_data (02 and 03 have the same)
    batch_norm: bool  # 02_model
    dropout: float  # 02_model
    learning_rate: float  # 02_model
    epochs: int  # 03_training
    workers: int  # 03_training: generator threads

    def as_dict(self) -> dict:
        return asdict(self)


@cache
def tutorial_defaults() -> TutorialDefaults:
    """The defaults of notebooks 01, 02 and 03, read from their parameters cells."""
    data, model, training = (notebook_defaults(stem) for stem in ("01_data", "02_model", "03_training"))
    return TutorialDefaults(
        image_size=data["image_size"], interpolation=data["interpolation"], batch_size=data["batch_size"],
        augmentation=data["augmentation"],
        colour_augmentation=data["colour_augmentation"], seed=data["seed"], batch_norm=model["batch_norm"],
        dropout=model["dropout"], learning_rate=model["learning_rate"], epochs=training["epochs"],
        workers=training["workers"],
    )
