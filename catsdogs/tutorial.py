"""Run the tutorial's notebooks in order with papermill.

    python -m catsdogs.tutorial                 # every notebook, in place, default parameters
    python -m catsdogs.tutorial --profile classroom   # the whole chain in minutes, for a class: into runs/classroom/
    python -m catsdogs.tutorial --quick --workdir /tmp/run --output-dir /tmp/run/notebooks

Only the default run (no profile, no ``--quick``, no ``-p``) writes in place: the executed
notebooks into notebooks/, and data, models, figures and results into the repository, where
they are the committed outputs. Any other run writes into a scratch folder, ``runs/<name>/``
(``runs/quick/``, ``runs/classroom/``, ``runs/custom/`` for ``-p`` changes; git ignores it),
unless ``--workdir`` or ``--output-dir`` says where: trying things never overwrites the
committed outputs. A scratch run reuses the repository's downloaded archive.

Each notebook is executed into a temporary file that replaces the original only when the
whole notebook succeeded, so a failure never leaves a half-executed notebook behind. The
console shows one line per training epoch and nothing else from the cells (their outputs
go into the executed notebooks). The time each notebook took is printed and saved to
``results/run_times.json``.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import default

from . import artifacts, paths
from .artifacts import ArtifactError, MissingArtifactError
from .data import DATA_ENV, DataError, is_url
from .images import ImageInputError
from .other_photos import ENV as OTHER_PHOTOS_ENV
from .paths import WorkspaceError
from .predict import ModelNotReadyError
from .pretrained import WEIGHTS_ENV, WeightsError

NOTEBOOK_DIR = paths.REPO_ROOT / "notebooks"

#: Parameters for a fast smoke run on small data (tests, a first try on a slow machine).
QUICK_PARAMETERS = {
    "01_data": {"image_size": 64, "batch_size": 8},
    "03_training": {"epochs": 1},
    "06_tfdata": {"epochs": 1, "throughput_batches": 2},
    # no download: random weights (the run tests the code, not the accuracy); one epoch per phase
    "07_transfer_learning": {"weights": None, "image_size": None, "frozen_epochs": 1, "fine_tune_epochs": 1,
                             "latency_runs": 5},
    # no download either: the data set's own validation photos stand in for photos from elsewhere
    "08_other_photos": {"photos": "data/cats_and_dogs_filtered/validation"},
}

#: The classroom profile: the whole chain on the real data in minutes on a 2-core machine like ours.
#: Smaller photos (64×64), lighter augmentation and fewer epochs; docs/teachers_guide.md and
#: benchmarks/README.md give its measured numbers (benchmarks/classroom.py, results/classroom.json).
#: On two cores the CNN's epochs at 64×64 are bound by JPEG decoding and the Python input pipeline,
#: not the model, so every epoch must count.
CLASSROOM_PARAMETERS = {
    "01_data": {
        "image_size": 64,
        "batch_size": 16,
        # mirroring and a slight zoom only: in 11 epochs the network must learn fast, and overfits little
        "augmentation": {"zoom_range": 0.1, "horizontal_flip": True},
        "colour_augmentation": {},  # measured without it (results/classroom.json); it pays off on new photos
    },
    "03_training": {"epochs": 11},
    "06_tfdata": {"epochs": 1, "throughput_batches": 3},
    # small photos, one epoch with the pretrained base frozen and no fine-tuning: the idea in half a minute
    # (fine-tuning one more epoch costs about as much as two CNN epochs, which buy more here)
    "07_transfer_learning": {"image_size": 64, "frozen_epochs": 1, "fine_tune_epochs": 0, "fine_tune_from": 150,
                             "latency_runs": 5},
}

PROFILES = {"quick": QUICK_PARAMETERS, "classroom": CLASSROOM_PARAMETERS}

#: Notebooks a profile skips when their data has not been given: a class should not download
#: Oxford-IIIT Pet's 790 MB on every machine. Notebook -> (its parameter, the environment variable).
SKIPPED_WITHOUT_DATA = {"classroom": {"08_other_photos": ("photos", OTHER_PHOTOS_ENV)}}


def skip_reason(notebook: Path, profile: str | None, params: dict) -> str | None:
    """Why the profile skips ``notebook`` (its data was not given), or None to run it."""
    needs = SKIPPED_WITHOUT_DATA.get(profile or "", {}).get(notebook.stem)
    if needs is None or params.get(needs[0]) or os.environ.get(needs[1]):
        return None
    return (f"skipped: the {profile} profile does not download its photos; set {needs[1]} to a local copy "
            f"(or -p {notebook.stem}.{needs[0]} PATH) to run it")

#: Errors whose message tells the user what to do: the runner shows the message, not a traceback.
USER_FACING_ERRORS = frozenset(cls.__name__ for cls in (
    DataError, ArtifactError, MissingArtifactError, ImageInputError, WeightsError, ModelNotReadyError, WorkspaceError))

_EPOCH = re.compile(r"^Epoch (\d+)/(\d+)$")
_EPOCH_END = re.compile(r"^\d+/\d+ - (\d+)s\b.* - ([a-z_]+): ")  # "125/125 - 44s - 352ms/step - accuracy: 0.71 …"
_METRIC = re.compile(r"\b([a-z_]+): (-?[\d.]+(?:e[-+]?\d+)?)\b")


class EpochReporter:
    """Turns a notebook's streamed stdout into one console line per training epoch.

    Keras' ``fit(verbose=2)`` prints ``Epoch 3/25`` (not for a single epoch) and then one line with
    the epoch's seconds and metrics when it ends. Everything else the cells print is dropped here
    (it still goes into the executed notebook). The time left is estimated from the epochs of the
    same ``fit`` call so far.
    """

    def __init__(self, name: str, emit: Callable[[str], None] = print) -> None:
        self.name, self.emit = name, emit
        self._pending = ""
        self._epoch: tuple[int, int] | None = None  # (epoch, of) announced, its end not yet seen
        self._last: tuple[int, int] | None = None  # the last epoch reported
        self._durations: list[float] = []  # seconds per epoch of the current fit

    def write(self, text: str) -> int:
        self._pending += text
        *lines, self._pending = self._pending.split("\n")
        for line in lines:
            self._line(line.strip())
        return len(text)

    def flush(self) -> None:
        pass

    def _line(self, line: str) -> None:
        if match := _EPOCH.match(line):
            self._epoch = int(match[1]), int(match[2])
            return
        if not (end := _EPOCH_END.match(line)):
            return
        epoch, total = self._epoch or (1, 1)  # a one-epoch fit prints no "Epoch 1/1"
        if self._last is None or epoch <= self._last[0] or total != self._last[1]:
            self._durations = []  # a new fit (another model, or the next phase)
        self._epoch, self._last = None, (epoch, total)
        seconds = float(end[1])
        self._durations.append(seconds)
        metrics = dict(_METRIC.findall(line))
        shown = [key for key in ("accuracy", "val_accuracy") if key in metrics] or list(metrics)[:2]
        parts = [f"  {self.name}  epoch {epoch:>{len(str(total))}}/{total}"]
        parts += [f"{key} {float(metrics[key]):.3f}" for key in shown]
        parts.append(f"{seconds:.0f} s")
        if epoch < total:
            parts.append(f"(about {_duration((total - epoch) * sum(self._durations) / len(self._durations))} left)")
        self.emit("  ".join(parts))


def _duration(seconds: float) -> str:
    """``40 s``, ``3 min``: rounded the way a person says how long something will take."""
    return f"{seconds:.0f} s" if seconds < 100 else f"{seconds / 60:.0f} min"


class QuietKernelManager(AsyncKernelManager):
    """The kernel manager nbclient uses, talking to the kernel over local sockets (IPC).

    Over TCP, ipykernel warns once per kernel that the connection is not encrypted; the kernel
    only ever talks to this process on this machine, and IPC (Unix sockets) is the transport that
    warning recommends. Windows has no IPC transport: there the default (TCP) stays.
    """

    _shutting_down = False

    @default("transport")
    def _default_transport(self) -> str:
        return "ipc" if os.name == "posix" else "tcp"

    async def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
        """Shut the kernel down without the interrupt (SIGINT) jupyter_client sends first.

        That interrupt is for a busy kernel; ours is idle once the notebook has run, and the signal
        can land while the kernel handles the shutdown request, which makes it log "KeyboardInterrupt
        caught in kernel" on the console. A kernel that does not stop is still killed after a wait.
        """
        self._shutting_down = True
        try:
            await super().shutdown_kernel(now=now, restart=restart)
        finally:
            self._shutting_down = False

    async def _async_interrupt_kernel(self) -> None:
        if not self._shutting_down:
            await super()._async_interrupt_kernel()


def notebooks() -> list[Path]:
    """The tutorial's notebooks, in order: every ``NN_name.ipynb`` in notebooks/."""
    return sorted(p for p in NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))


def parameters_for(notebook: Path, profile: str | None, workdir: str | None, extra: dict) -> dict:
    """The parameters for one notebook: the profile's (None: the notebook's defaults), then ``extra``."""
    params: dict = {}
    if workdir:
        params["workdir"] = workdir
    if profile:
        params.update(PROFILES[profile].get(notebook.stem, {}))
    for key, value in extra.items():
        name, _, param = key.rpartition(".")
        if not name or name == notebook.stem:
            params[param] = value
    return params


def declared_parameters(notebook: Path) -> dict[str, object]:
    """The parameters a notebook's ``parameters`` cell declares, with their default values."""
    import ast

    import papermill

    declared = {}
    for name, info in papermill.inspect_notebook(str(notebook)).items():
        try:
            declared[name] = ast.literal_eval(info["default"])
        except (ValueError, SyntaxError):
            declared[name] = None  # a default written as an expression: any value goes
    return declared


def _kind(value) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    return {str: "text", list: "a JSON list", dict: "a JSON object"}.get(type(value), type(value).__name__)


def check_parameters(selected: list[Path], extra: dict) -> str | None:
    """What is wrong with the ``-p`` parameters for these notebooks, or None.

    papermill passes on a parameter no notebook declares with a warning only, and a value of
    the wrong type fails deep inside a cell: a mistyped ``-p epoch 5`` would train 25 epochs
    without a word. So every name must be declared by a selected notebook, and every value
    must have the type of the notebook's default (a default of None takes any value).
    """
    import difflib

    declared = {nb.stem: declared_parameters(nb) for nb in selected}
    for key, value in extra.items():
        prefix, _, name = key.rpartition(".")
        targets = {stem: params for stem, params in declared.items() if not prefix or stem == prefix}
        if prefix and not targets:
            return (f"-p {key}: no selected notebook is called {prefix} "
                    f"(the notebooks: {', '.join(nb.stem for nb in notebooks())}).")
        having = {stem: params[name] for stem, params in targets.items() if name in params}
        if not having:
            known = sorted({n for params in targets.values() for n in params})
            close = difflib.get_close_matches(name, known, n=3)
            hint = f" Did you mean {' or '.join(close)}?" if close else f" Parameters: {', '.join(known)}."
            where = f"notebook {prefix} has no parameter" if prefix else "no selected notebook has a parameter"
            return f"-p {key}: {where} {name!r}.{hint}"
        for stem, wanted in having.items():
            if wanted is None or value is None:
                continue
            if isinstance(wanted, float) and isinstance(value, int) and not isinstance(value, bool):
                continue
            if type(value) is not type(wanted):
                return (f"-p {key} {value!r}: {stem}'s {name} takes {_kind(wanted)} (its default is {wanted!r}), "
                        f"not {_kind(value)}. Values are read as JSON: -p {name} 5, -p {name} '\"text\"'.")
    return None


def failed_copy(output: Path) -> Path:
    """Where the executed notebook of a failed run is kept for inspection (beside the output, hidden).

    A hidden name keeps it out of :func:`notebooks` and, in notebooks/, out of git.
    """
    return output.with_name(f".{output.stem}.failed.ipynb")


def run_notebook(notebook: Path, output: Path, params: dict, timeout: int | None = None,
                 stdout=None) -> float:
    """Execute one notebook; ``output`` is written only if every cell succeeds.

    ``stdout``, a file-like object, receives what the cells print while they run. If a cell
    fails, the executed notebook is kept as :func:`failed_copy` (``output`` stays as it was)
    and papermill's error is raised.
    """
    import papermill

    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + output.stem + ".", suffix=".ipynb", dir=output.parent)
    os.close(fd)
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(notebook),
            tmp,
            parameters=params,
            cwd=str(notebook.parent),
            kernel_name="python3",
            progress_bar=False,
            execution_timeout=timeout,
            stdout_file=stdout,
            kernel_manager_class=QuietKernelManager,
        )
        artifacts.readable_by_all(tmp)
        os.replace(tmp, output)
    except BaseException:
        if Path(tmp).stat().st_size > 0:  # papermill wrote the notebook up to the failing cell
            artifacts.readable_by_all(tmp)
            os.replace(tmp, failed_copy(output))
        raise
    finally:
        Path(tmp).unlink(missing_ok=True)
    return time.perf_counter() - start


def _shown(path: Path) -> str:
    """A path as the user should see it: relative to the current folder when it is inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def where_outputs_go(ws: paths.Workspace, output_dir: Path | None) -> str:
    """The line the runner prints first: where this run writes, and whether that replaces the committed outputs."""
    in_repository = ws.root.resolve() == paths.REPO_ROOT.resolve()
    notebooks_at = f"{_shown(output_dir)}/" if output_dir else "notebooks/ (in place)"
    the_rest = "the repository's data/, models/, figures/ and results/" if in_repository else f"{_shown(ws.root)}/"
    text = f"Outputs: executed notebooks in {notebooks_at}; data, models, figures and results in {the_rest}"
    if output_dir is None or in_repository:
        return text + " (this replaces the committed outputs)."
    return text + "; the committed outputs are not touched."


def explain_failure(notebook: Path, output: Path, error: BaseException) -> str:
    """What the console says when a notebook stops: the message alone for the package's own errors."""
    ename = getattr(error, "ename", type(error).__name__)
    if ename in USER_FACING_ERRORS:
        return f"✗ {notebook.name} stopped: {getattr(error, 'evalue', str(error))}"
    if ename == "KeyboardInterrupt":  # Ctrl-C reaches the kernel too
        return f"✗ Interrupted: {_shown(output)} was left unchanged."
    text = f"✗ {notebook.name} failed with {ename}; {_shown(output)} was left unchanged.\n{error}"
    if failed_copy(output).exists():
        text += f"\nThe executed notebook, up to the failing cell, is in {_shown(failed_copy(output))}."
    return text


#: Where runs other than the default one write, one sub-folder per kind of run (git ignores it).
RUNS_DIR = paths.REPO_ROOT / "runs"


def scratch_name(profile: str | None, extra: dict) -> str | None:
    """The scratch folder's name for a run that is not the default one, or None for the default run.

    The default run (no profile, no ``-p``) makes the committed outputs; a profile's run is named
    after the profile, and a run with only ``-p`` changes is ``custom``.
    """
    if profile:
        return profile
    return "custom" if extra else None


def output_places(profile: str | None, extra: dict, workdir: str | None,
                  output_dir: str | None) -> tuple[str | None, Path | None]:
    """Where a run writes: (workdir, folder for the executed notebooks); None means the default place.

    The default run keeps what it is given (None, None: the workspace of ``$CATSDOGS_WORKDIR`` or the
    repository, notebooks in place). Any other run never writes in place: without ``--workdir`` (or
    ``$CATSDOGS_WORKDIR``) it works in ``runs/<name>/``, and without ``--output-dir`` its executed
    notebooks go to ``notebooks/`` inside its workdir, or to ``runs/<name>/notebooks/`` when that would
    be the repository's own notebooks (``--workdir .``).
    """
    name = scratch_name(profile, extra)
    if name is None:
        return workdir, Path(output_dir) if output_dir else None
    workdir = workdir or os.environ.get(paths.WORKDIR_ENV) or str(RUNS_DIR / name)
    workdir = str(Path(workdir).expanduser().resolve())
    if output_dir:
        return workdir, Path(output_dir).expanduser().resolve()
    inside = Path(workdir) / "notebooks"
    if inside.resolve() == NOTEBOOK_DIR.resolve():  # --workdir . : the notebooks still stay as committed
        inside = RUNS_DIR / name / "notebooks"
    return workdir, inside


def reuse_downloaded_archive(workdir: str | None, extra: dict) -> Path | None:
    """An archive already downloaded (by the default run or a scratch run), for a run in another workdir.

    A scratch run (``runs/quick/`` …) has its own ``data/``; without this it would download the
    68 MB archive again. None when a data source is given (``$CATSDOGS_DATA`` or ``-p data_source``),
    when the run writes into the default workspace, or when nothing was downloaded yet.
    """
    from .data import ARCHIVE_NAME

    given = os.environ.get(DATA_ENV) or any(key.rpartition(".")[2] == "data_source" for key in extra)
    if given or workdir is None or Path(workdir).resolve() == paths.REPO_ROOT.resolve():
        return None
    own = (Path(workdir) / "data" / "downloads" / ARCHIVE_NAME).resolve()
    if own.is_file():
        return None  # the run's own download: notebook 01 finds it by itself
    candidates = [paths.REPO_ROOT / "data" / "downloads" / ARCHIVE_NAME,
                  *sorted(RUNS_DIR.glob(f"*/data/downloads/{ARCHIVE_NAME}"))]
    return next((c for c in candidates if c.is_file()), None)


def machine_line() -> str:
    """The machine a run ran on, for ``results/run_times.json`` and the README: CPU, cores, GPUs, versions.

    Read without importing TensorFlow (the runner never does): the CPU model from ``/proc/cpuinfo``
    where there is one, GPUs from ``nvidia-smi -L`` where it exists, versions from the installed packages.
    """
    import platform
    import shutil
    import subprocess
    from importlib import metadata

    from .env import cpu_model

    cpu = re.sub(r"\s+\d+-Core Processor$|\(R\)|\(TM\)", "", cpu_model()).strip()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    gpus = []
    if shutil.which("nvidia-smi"):
        try:
            listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10).stdout
            gpus = [re.sub(r"^GPU \d+: | \(UUID.*$", "", line) for line in listed.splitlines() if line.strip()]
        except (OSError, subprocess.SubprocessError):
            pass
    versions = []
    for package, shown in (("tensorflow", "TensorFlow"), ("keras", "Keras")):
        try:
            versions.append(f"{shown} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            pass
    gpu = ", GPU " + " + ".join(gpus) if gpus else ", no GPU"
    return " · ".join([f"{cpu} ({cores} cores{gpu})", *versions, f"Python {platform.python_version()}"])


def _parse_value(text: str):
    import json

    try:
        return json.loads(text)
    except ValueError:
        return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m catsdogs.tutorial", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small images and one epoch: a smoke run (tests)")
    parser.add_argument(
        "--profile", choices=sorted(PROFILES),
        help="a set of parameters: 'classroom' runs the whole chain in minutes; 'quick' is --quick",
    )
    parser.add_argument("--workdir", help="write data, models, figures and results here (default: the repository "
                        "for the default run, runs/<profile or custom>/ for any other)")
    parser.add_argument("--output-dir", help="write executed notebooks here (default: in place for the default run, "
                        "<workdir>/notebooks/ for any other)")
    parser.add_argument("--only", nargs="*", help="run only these notebooks (name prefixes such as 01 03)")
    parser.add_argument(
        "-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
        help="set a parameter, e.g. -p epochs 5 or -p 03_training.epochs 5 (values are JSON or text)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        if args.profile not in (None, "quick"):
            parser.error("--quick and --profile: choose one")
        args.profile = "quick"
    # The kernels run in notebooks/: make paths given relative to where this command runs absolute.
    for variable in (DATA_ENV, WEIGHTS_ENV, OTHER_PHOTOS_ENV):
        given = os.environ.get(variable)
        if given and not is_url(given) and Path(given).expanduser().exists():
            os.environ[variable] = str(Path(given).expanduser().resolve())
    if args.workdir:
        args.workdir = str(Path(args.workdir).expanduser().resolve())
    extra = {name: _parse_value(value) for name, value in args.param}
    args.workdir, output_dir = output_places(args.profile, extra, args.workdir, args.output_dir)
    kind = scratch_name(args.profile, extra) or "default"

    selected = [nb for nb in notebooks() if not args.only or any(nb.stem.startswith(o) for o in args.only)]
    if not selected:
        print(f"No notebook matches --only {' '.join(args.only)}. The notebooks are: "
              + ", ".join(nb.stem for nb in notebooks()), file=sys.stderr)
        return 2
    if problem := check_parameters(selected, extra):
        print(f"error: {problem}", file=sys.stderr)
        return 2
    ws = paths.workspace(args.workdir)
    print(where_outputs_go(ws, output_dir), flush=True)
    if cached := reuse_downloaded_archive(args.workdir, extra):
        print(f"  data: the archive already downloaded, {_shown(cached)}", flush=True)
        extra = {**extra, "01_data.data_source": str(cached)}
    times = {}
    for number, notebook in enumerate(selected, 1):
        output = output_dir / notebook.name if output_dir else notebook
        params = parameters_for(notebook, args.profile, args.workdir, extra)
        shown = ", ".join(f"{k}={v!r}" for k, v in params.items() if k != "workdir")
        if reason := skip_reason(notebook, args.profile, params):
            print(f"▷ {notebook.name} {reason}", flush=True)
            continue
        print(f"▶ {notebook.name}" + (f" ({shown})" if shown else ""), flush=True)
        failed_copy(output).unlink(missing_ok=True)  # from an earlier failed run
        reporter = EpochReporter(notebook.stem, emit=lambda line: print(line, flush=True))
        try:
            seconds = run_notebook(notebook, output, params, stdout=reporter)
        except Exception as error:  # papermill raises PapermillExecutionError with the cell's traceback
            print(explain_failure(notebook, output, error), file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print(f"\n✗ Interrupted: {_shown(output)} was left unchanged.", file=sys.stderr)
            return 130
        times[notebook.name] = round(seconds, 1)
        left = len(selected) - number
        print(f"  done in {seconds / 60:.1f} min" + (f"; {left} notebook{'s' * (left > 1)} to go" if left else ""),
              flush=True)
    total = sum(times.values())
    if not args.only:  # the times of a whole chain; a partial run would overwrite them with a part
        artifacts.save_json(ws.results / "run_times.json",
                            {"profile": kind, "seconds": times, "total_seconds": round(total, 1),
                             "machine": machine_line()})
    print("All notebooks ran: " + ", ".join(f"{k} {v:.0f} s" for k, v in times.items())
          + f"; {total / 60:.1f} min in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
