"""The model the app predicts with: loaded on first use, and again whenever its files change."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from .. import artifacts, paths
from ..predict import DEFAULT_MODELS, ModelNotReadyError, Predictor, default_model_path

log = logging.getLogger("catsdogs.webapp")

TRAINING_NOTEBOOK = artifacts.PRODUCERS["best.keras"]


class ModelSlot:
    """The predictor, loaded on first use and loaded again whenever the model files change.

    The workspace must exist (a mistyped ``--workdir`` raises :class:`catsdogs.paths.WorkspaceError`
    here, at start-up) and is only read, never written. A missing or broken model is not an
    error for the app, only for prediction: the slot remembers why, and tries again when
    ``best.keras`` or ``data_config.json`` changes (for instance once notebook 03 has saved a
    model), without restarting the server. Its messages name files relative to the workspace.

    Without ``--model`` it answers with the better model there is: notebook 07's
    ``transfer.keras`` once it exists, else notebook 03's ``best.keras`` (``predict.default_model_path``),
    and switches when notebook 07 saves its model.
    """

    def __init__(self, model_path: str | Path | None = None, workdir: str | Path | None = None,
                 threshold: float = 0.5):
        self.workspace = paths.workspace(workdir, create=False)
        self._chosen = Path(model_path).expanduser().resolve() if model_path else None
        self.config_path = artifacts.data_config_path(self.workspace)
        self.threshold = threshold
        self._lock = threading.Lock()
        self._signature: tuple | None = None
        self._predictor: Predictor | None = None
        self._error: str | None = None

    @property
    def model_path(self) -> Path:
        """The model file: the one given with ``--model``, else the better of the tutorial's models."""
        return self._chosen or default_model_path(self.workspace)

    @property
    def shown_path(self) -> str:
        return self.workspace.show(self.model_path)

    def without_paths(self, text: str) -> str:
        """``text`` with the machine's folders taken out: answers name files relative to the workspace."""
        for folder, shown in ((self.model_path.parent, ""), (self.workspace.root, "")):
            text = text.replace(f"{folder}/", shown).replace(str(folder), "the workdir")
        return text

    def _files(self) -> tuple:
        signature = []
        defaults = [] if self._chosen else [self.workspace.models / name for name in DEFAULT_MODELS]
        for path in (self.model_path, self.config_path, *defaults):
            try:
                st = path.stat()
                signature.append((st.st_mtime_ns, st.st_size))
            except OSError:
                signature.append(None)
        return tuple(signature)

    def _no_model_file(self) -> ModelNotReadyError:
        notebook = artifacts.PRODUCERS.get(self.model_path.name, TRAINING_NOTEBOOK)
        if self.model_path.is_dir():
            return ModelNotReadyError(f"{self.shown_path} is a folder, not a model file: move it away and run "
                                      f"{notebook} again to save the model.")
        if self.model_path.name not in artifacts.PRODUCERS:
            return ModelNotReadyError(f"{self.shown_path} does not exist. Give --model a model the notebooks saved, "
                                      "such as models/best.keras.")
        return ModelNotReadyError(
            f"No trained model yet: {self.shown_path} does not exist. Run the notebooks in order up to "
            f"{notebook} (it trains the model and saves it as models/{self.model_path.name}), then try again; "
            "the app picks the model up without a restart."
        )

    def _load(self) -> None:
        self._predictor, self._error = None, None
        try:
            if not self.model_path.is_file():
                raise self._no_model_file()
            self._predictor = Predictor.load(self.model_path, self.workspace.root, self.threshold)
        except ModelNotReadyError as error:  # no model, data_config.json missing or damaged, the model unreadable
            self._error = self.without_paths(str(error))
        except Exception as error:  # anything Predictor.load did not foresee
            log.warning("could not load %s: %r", self.model_path, error)
            self._error = (
                f"{self.shown_path} could not be loaded: it is damaged or not a Keras model "
                f"({type(error).__name__}). Run {TRAINING_NOTEBOOK} again to save a fresh model."
            )
        if self._predictor is not None:
            log.info("model loaded: %s", self.shown_path)
        else:
            log.warning("no model: %s", self._error)

    def get(self) -> Predictor:
        """The loaded predictor; raises :class:`ModelNotReadyError` saying which notebook to run."""
        with self._lock:
            signature = self._files()
            if signature != self._signature:
                self._signature = signature
                self._load()
            if self._predictor is None:
                raise ModelNotReadyError(self._error)
            return self._predictor

    def status(self) -> tuple[Predictor | None, str | None]:
        """The predictor and None, or None and why there is none."""
        try:
            return self.get(), None
        except ModelNotReadyError as error:
            return None, str(error)
