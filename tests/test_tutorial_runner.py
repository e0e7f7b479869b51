"""The notebook runner: parameters reach the right notebook, a failure changes nothing, and the
console shows one line per epoch and the package's error messages, nothing else."""

from pathlib import Path

import nbformat
import pytest

from catsdogs import tutorial


def _notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell("value = 1")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, *(nbformat.v4.new_code_cell(s) for s in sources)]
    nbformat.write(nb, path)
    return path


def test_parameters_go_to_the_named_notebook_only():
    nb = Path("03_training.ipynb")
    params = tutorial.parameters_for(nb, "quick", workdir="/w", extra={"03_training.epochs": 3, "seed": 7,
                                                                      "01_data.image_size": 32})
    assert params == {"workdir": "/w", "epochs": 3, "seed": 7}
    assert tutorial.parameters_for(nb, None, None, {}) == {}  # the default run: the notebooks' own values


def test_every_profile_names_real_notebooks_and_parameters():
    import nbformat

    names = {nb.stem: nb for nb in tutorial.notebooks()}
    for profile, per_notebook in tutorial.PROFILES.items():
        for stem, params in per_notebook.items():
            assert stem in names, f"profile {profile} names a notebook that does not exist: {stem}"
            cell = next(c for c in nbformat.read(names[stem], as_version=4).cells
                        if "parameters" in c.metadata.get("tags", []))
            for name in params:
                assert f"\n{name} = " in "\n" + cell.source, f"{profile}: {stem} has no parameter {name}"
    assert tutorial.parameters_for(names["03_training"], "classroom", None, {})["epochs"] < 25


def test_a_failing_notebook_leaves_the_previous_output_untouched(tmp_path):
    failing = _notebook(tmp_path / "01_fail.ipynb", "raise RuntimeError('boom')")
    output = tmp_path / "out" / "01_fail.ipynb"
    output.parent.mkdir()
    output.write_text("previous good run")
    with pytest.raises(Exception, match="boom"):
        tutorial.run_notebook(failing, output, {})
    assert output.read_text() == "previous good run"
    # the executed notebook with the error is kept for inspection, under a hidden name (git ignores it)
    assert sorted(p.name for p in output.parent.iterdir()) == [".01_fail.failed.ipynb", "01_fail.ipynb"]
    assert "boom" in tutorial.failed_copy(output).read_text()


def test_a_succeeding_notebook_replaces_the_output_with_parameters_applied(tmp_path):
    good = _notebook(tmp_path / "01_ok.ipynb", "print('value is', value)")
    output = tmp_path / "01_ok.ipynb"  # in place, like the README's run command
    tutorial.run_notebook(good, output, {"value": 42})
    text = output.read_text()
    assert "value is 42" in text and "injected-parameters" in text


def test_the_tutorial_notebooks_are_numbered_without_gaps_or_twins():
    names = [nb.name for nb in tutorial.notebooks()]
    assert names[0] == "01_data.ipynb"
    assert [int(name[:2]) for name in names] == list(range(1, len(names) + 1)), names


KERAS_EPOCHS = [  # what model.fit(verbose=2) prints, as the kernel streams it (lines may arrive in pieces)
    "Found 2000 images belonging to 2 classes.\n",
    "Epoch 1/3\n", "125/125 - 50s - 396ms/step - accuracy: 0.6020 - loss: 0.7547 - val_accuracy: 0.5990 - ",
    "val_loss: 0.6697 - learning_rate: 0.0020\n", "Epoch 2/3\n",
    "125/125 - 43s - 348ms/step - accuracy: 0.6675 - loss: 0.6088 - val_accuracy: 0.6660 - val_loss: 9.3e-01\n",
    "Epoch 3/3\n", "125/125 - 36s - accuracy: 0.7090 - loss: 0.5206 - val_accuracy: 0.7490 - val_loss: 0.5932\n",
    "Saved models/best.keras\n",
    "Epoch 4/6\n", "125/125 - 89s - 712ms/step - accuracy: 0.9675 - loss: 0.0847 - val_accuracy: 0.9580\n",
]


def test_epoch_lines_become_one_console_line_each_and_nothing_else_is_shown():
    lines = []
    reporter = tutorial.EpochReporter("03_training", emit=lines.append)
    for text in KERAS_EPOCHS:
        reporter.write(text)
    assert lines == [
        "  03_training  epoch 1/3  accuracy 0.602  val_accuracy 0.599  50 s  (about 2 min left)",
        "  03_training  epoch 2/3  accuracy 0.667  val_accuracy 0.666  43 s  (about 46 s left)",
        "  03_training  epoch 3/3  accuracy 0.709  val_accuracy 0.749  36 s",
        # the next fit (fine-tuning, continuing the epoch count) is timed on its own
        "  03_training  epoch 4/6  accuracy 0.968  val_accuracy 0.958  89 s  (about 3 min left)",
    ]


def test_a_single_epoch_fit_is_shown_too():
    """Keras prints no "Epoch 1/1" header when a fit has one epoch; the metrics line still counts."""
    lines = []
    reporter = tutorial.EpochReporter("07_transfer_learning", emit=lines.append)
    reporter.write("4/4 - 22s - 5s/step - accuracy: 0.5000 - loss: 0.6933 - val_accuracy: 0.5000 - val_loss: 0.6931\n")
    reporter.write("Epoch 2/2\n4/4 - 28s - 7s/step - accuracy: 0.5000 - loss: 0.6931 - val_accuracy: 0.7500\n")
    assert lines == ["  07_transfer_learning  epoch 1/1  accuracy 0.500  val_accuracy 0.500  22 s",
                     "  07_transfer_learning  epoch 2/2  accuracy 0.500  val_accuracy 0.750  28 s"]


@pytest.fixture
def notebook_dir(tmp_path, monkeypatch):
    """An empty notebooks/ folder that the runner reads instead of the tutorial's."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    monkeypatch.setattr(tutorial, "NOTEBOOK_DIR", folder)
    return folder


def test_only_without_a_match_says_so_and_fails(capsys):
    assert tutorial.main(["--only", "99"]) == 2
    out, err = capsys.readouterr()
    assert "All notebooks ran" not in out
    assert "No notebook matches --only 99" in err and "01_data, 02_model" in err


def test_the_console_shows_epochs_then_the_message_of_a_user_facing_error(notebook_dir, tmp_path, capfd):
    epochs = "".join(f"print({line!r}, end='')\n" for line in KERAS_EPOCHS[:4])
    _notebook(notebook_dir / "01_train.ipynb", "print('noise from a cell')\n" + epochs)
    _notebook(notebook_dir / "02_data.ipynb",
              "from catsdogs.data import DataError\nraise DataError('No photos in data/x: run notebook 01 first.')")
    code = tutorial.main(["--workdir", str(tmp_path / "work")])
    out, err = capfd.readouterr()
    assert code == 1
    assert "noise from a cell" not in out and "Found 2000 images" not in out
    assert "  01_train  epoch 1/3  accuracy 0.602  val_accuracy 0.599" in out and "1 notebook to go" in out
    assert err.strip().splitlines() == ["✗ 02_data.ipynb stopped: No photos in data/x: run notebook 01 first."]
    assert (notebook_dir / "01_train.ipynb").read_text().count("noise from a cell") == 2  # source and output


def test_an_unexpected_error_shows_the_traceback_and_where_the_failed_run_is(notebook_dir, tmp_path, capfd):
    _notebook(notebook_dir / "01_bug.ipynb", "def f():\n    return 1 / 0\nf()")
    before = (notebook_dir / "01_bug.ipynb").read_text()
    assert tutorial.main(["--workdir", str(tmp_path / "work")]) == 1
    err = capfd.readouterr().err
    assert "ZeroDivisionError" in err and "return 1 / 0" in err  # the traceback, with the line
    assert ".01_bug.failed.ipynb" in err and (notebook_dir / "01_bug.ipynb").read_text() == before
    assert "IPKernelApp" not in err  # no kernel log noise (the TCP warning)


class _CellError(Exception):
    """Stands in for papermill's PapermillExecutionError: the name and message of the cell's exception."""

    def __init__(self, ename: str, evalue: str) -> None:
        super().__init__(f"Traceback (most recent call last): ... {ename}: {evalue}")
        self.ename, self.evalue = ename, evalue


@pytest.mark.parametrize("ename", sorted(tutorial.USER_FACING_ERRORS))
def test_every_user_facing_error_is_shown_as_its_message(ename, tmp_path):
    notebook = tmp_path / "07_transfer_learning.ipynb"
    text = tutorial.explain_failure(notebook, notebook, _CellError(ename, "Copy the weights to X."))
    assert text == "✗ 07_transfer_learning.ipynb stopped: Copy the weights to X."


def test_ctrl_c_in_the_kernel_is_an_interruption_not_a_bug(tmp_path):
    notebook = tmp_path / "03_training.ipynb"
    text = tutorial.explain_failure(notebook, notebook, _CellError("KeyboardInterrupt", ""))
    assert text.startswith("✗ Interrupted:") and "Traceback" not in text


def test_the_classroom_profile_skips_the_new_photos_notebook_without_its_photos(monkeypatch):
    from catsdogs.other_photos import ENV

    notebook = tutorial.NOTEBOOK_DIR / "08_other_photos.ipynb"
    monkeypatch.delenv(ENV, raising=False)
    reason = tutorial.skip_reason(notebook, "classroom", {})
    assert reason and ENV in reason and "-p 08_other_photos.photos" in reason
    assert tutorial.skip_reason(notebook, "classroom", {"photos": "my_photos"}) is None
    assert tutorial.skip_reason(notebook, None, {}) is None, "the full run downloads them"
    monkeypatch.setenv(ENV, "/somewhere")
    assert tutorial.skip_reason(notebook, "classroom", {}) is None


@pytest.mark.parametrize("args, message", [
    (["-p", "epoch", "5"], "no selected notebook has a parameter 'epoch'. Did you mean epochs?"),
    (["-p", "03_training.epochs", "abc"], "03_training's epochs takes a whole number (its default is 25), not text"),
    (["-p", "03_training.epochs", "2.5"], "takes a whole number (its default is 25), not a number"),
    (["-p", "09_extra.epochs", "3"], "no selected notebook is called 09_extra"),
    (["--only", "01", "-p", "photos", "x"], "no selected notebook has a parameter 'photos'"),
])
def test_a_mistyped_parameter_stops_before_any_notebook_runs(capsys, args, message):
    assert tutorial.main(args) == 2
    captured = capsys.readouterr()
    assert message in captured.err and "▶" not in captured.out


def test_well_typed_parameters_pass_the_check():
    selected = [tutorial.NOTEBOOK_DIR / f"{name}.ipynb" for name in ("01_data", "03_training", "07_transfer_learning")]
    assert tutorial.check_parameters(selected, {"03_training.epochs": 5, "seed": 7, "01_data.data_source": "x.zip",
                                                "07_transfer_learning.weights": None, "dropout": 0}) is None


# --------------------------------------------------------------------------- where a run writes

REPO = tutorial.paths.REPO_ROOT
COMMITTED = [REPO / name for name in ("notebooks", "figures", "results", "models", "data")]


def _inside_committed(path) -> bool:
    path = Path(path).resolve()
    return path == REPO.resolve() or any(path == c or c in path.parents for c in COMMITTED)


@pytest.mark.parametrize("profile, extra, name", [
    ("quick", {}, "quick"),
    ("classroom", {}, "classroom"),
    ("classroom", {"03_training.epochs": 5}, "classroom"),
    (None, {"03_training.epochs": 5}, "custom"),
])
def test_a_run_that_is_not_the_default_one_writes_into_runs_never_the_committed_outputs(
        profile, extra, name, monkeypatch):
    monkeypatch.delenv(tutorial.paths.WORKDIR_ENV, raising=False)
    workdir, output_dir = tutorial.output_places(profile, extra, None, None)
    assert Path(workdir) == REPO / "runs" / name
    assert output_dir == REPO / "runs" / name / "notebooks"
    assert not _inside_committed(workdir) and not _inside_committed(output_dir)
    ws = tutorial.paths.Workspace(Path(workdir))
    for folder in (ws.data, ws.models, ws.figures, ws.results):
        assert not _inside_committed(folder)


def test_only_the_default_run_writes_in_place(monkeypatch):
    monkeypatch.delenv(tutorial.paths.WORKDIR_ENV, raising=False)
    assert tutorial.output_places(None, {}, None, None) == (None, None)
    ws = tutorial.paths.workspace(None, create=False)
    assert ws.root == REPO
    assert "replaces the committed outputs" in tutorial.where_outputs_go(ws, None)


def test_a_given_workdir_or_output_dir_is_used_as_given(tmp_path, monkeypatch):
    monkeypatch.delenv(tutorial.paths.WORKDIR_ENV, raising=False)
    work, out = tmp_path / "work", tmp_path / "out"
    assert tutorial.output_places("quick", {}, str(work), str(out)) == (str(work), out)
    # only a workdir: the executed notebooks go inside it, not over the committed ones
    assert tutorial.output_places("quick", {}, str(work), None) == (str(work), work / "notebooks")
    # only an output folder: the workdir is still the scratch folder
    assert tutorial.output_places(None, {"seed": 1}, None, str(out)) == (str(REPO / "runs" / "custom"), out)
    # the repository as workdir: figures and results in place, as asked, but the notebooks stay as committed
    assert tutorial.output_places(None, {"seed": 1}, str(REPO), None) == (str(REPO), REPO / "runs" / "custom" / "notebooks")
    monkeypatch.setenv(tutorial.paths.WORKDIR_ENV, str(work))  # CATSDOGS_WORKDIR counts as a given workdir
    assert tutorial.output_places("classroom", {}, None, None) == (str(work), work / "notebooks")


def test_the_runner_says_where_a_scratch_run_writes_and_the_committed_notebooks_stay(
        notebook_dir, tmp_path, monkeypatch, capfd):
    monkeypatch.setattr(tutorial, "RUNS_DIR", tmp_path / "runs")
    monkeypatch.delenv(tutorial.paths.WORKDIR_ENV, raising=False)
    committed = _notebook(notebook_dir / "01_ok.ipynb", "print('value is', value)")
    before = committed.read_text()
    assert tutorial.main(["-p", "value", "2"]) == 0
    out = capfd.readouterr().out
    assert "Outputs: executed notebooks in" in out and "the committed outputs are not touched" in out
    assert committed.read_text() == before
    executed = tmp_path / "runs" / "custom" / "notebooks" / "01_ok.ipynb"
    assert "value is 2" in executed.read_text()
    import json

    run_times = json.loads((tmp_path / "runs" / "custom" / "results" / "run_times.json").read_text())
    assert run_times["profile"] == "custom" and "cores" in run_times["machine"]  # the README names the machine


def test_a_scratch_run_reuses_the_downloaded_archive_unless_a_source_is_given(tmp_path, monkeypatch):
    from catsdogs.data import ARCHIVE_NAME, DATA_ENV

    monkeypatch.setattr(tutorial.paths, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(tutorial, "RUNS_DIR", tmp_path / "runs")
    monkeypatch.delenv(DATA_ENV, raising=False)
    scratch = str(tmp_path / "runs" / "classroom")
    assert tutorial.reuse_downloaded_archive(scratch, {}) is None  # nothing downloaded yet
    quick = tmp_path / "runs" / "quick" / "data" / "downloads" / ARCHIVE_NAME
    quick.parent.mkdir(parents=True)
    quick.write_bytes(b"zip")
    assert tutorial.reuse_downloaded_archive(scratch, {}) == quick  # another scratch run's download
    assert tutorial.reuse_downloaded_archive(str(tmp_path / "runs" / "quick"), {}) is None  # its own
    cached = tmp_path / "data" / "downloads" / ARCHIVE_NAME
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"zip")
    assert tutorial.reuse_downloaded_archive(scratch, {}) == cached
    assert tutorial.reuse_downloaded_archive(None, {}) is None  # the default run: it is its own cache
    assert tutorial.reuse_downloaded_archive(scratch, {"01_data.data_source": "x.zip"}) is None
    monkeypatch.setenv(DATA_ENV, "/copy.zip")
    assert tutorial.reuse_downloaded_archive(scratch, {}) is None
