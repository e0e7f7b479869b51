"""Where the tutorial reads and writes: one workspace root with fixed sub-folders.

Every notebook writes under a workspace root. By default it is the repository itself;
a notebook parameter or the ``CATSDOGS_WORKDIR`` environment variable moves it, which is
how the tests run the whole chain in a temporary folder without touching committed files.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

WORKDIR_ENV = "CATSDOGS_WORKDIR"
REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Workspace:
    """The folders of one tutorial run. Create them with :meth:`create`."""

    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def downloads(self) -> Path:
        return self.data / "downloads"

    @property
    def models(self) -> Path:
        return self.root / "models"

    @property
    def figures(self) -> Path:
        return self.root / "figures"

    @property
    def results(self) -> Path:
        return self.root / "results"

    def create(self) -> Workspace:
        for folder in (self.data, self.downloads, self.models, self.figures, self.results):
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError):
                raise WorkspaceError(
                    f"{self.show(folder)} is a file, but the tutorial needs a folder there: move the file "
                    "away (or choose another workdir) and run again."
                ) from None
            except PermissionError:
                raise WorkspaceError(
                    f"Cannot create {self.show(folder)}/: permission denied. Choose a workdir you can write to "
                    f"(the workdir parameter or ${WORKDIR_ENV})."
                ) from None
        return self

    def show(self, path: os.PathLike | str) -> str:
        """A path as a reader should see it: relative to the workspace, never a machine path."""
        path = Path(path).resolve()
        for base in (self.root.resolve(), REPO_ROOT):
            try:
                return path.relative_to(base).as_posix()
            except ValueError:
                continue
        return path.name


class WorkspaceError(RuntimeError):
    """The workspace folder cannot be used; the message says why and what to do."""


def workspace(root: os.PathLike | str | None = None, create: bool = True) -> Workspace:
    """The workspace for ``root``, else ``$CATSDOGS_WORKDIR``, else the repository.

    The notebooks create its folders (``create=True``). Tools that only read (the prediction
    command, the web page) pass ``create=False``: reading never writes, and a workdir that does
    not exist is an error, not a new folder.
    """
    chosen = root or os.environ.get(WORKDIR_ENV) or REPO_ROOT
    ws = Workspace(Path(chosen).expanduser().resolve())
    if create:
        return ws.create()
    if not ws.root.is_dir():
        raise WorkspaceError(f"The workdir {chosen} does not exist (or is not a folder). Give the folder the "
                             "notebooks ran in (by default the repository itself).")
    return ws
