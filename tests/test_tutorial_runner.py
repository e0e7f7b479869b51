"""The notebook runner: parameters reach the right notebook, and a failure changes nothing."""

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
    assert sorted(p.name for p in output.parent.iterdir()) == ["01_fail.ipynb"]


def test_a_succeeding_notebook_replaces_the_output_with_parameters_applied(tmp_path):
    good = _notebook(tmp_path / "01_ok.ipynb", "print('value is', value)")
    output = tmp_path / "01_ok.ipynb"  # in place, like the README's run command
    tutorial.run_notebook(good, output, {"value": 42})
    text = output.read_text()
    assert "value is 42" in text and "injected-parameters" in text


def test_the_tutorial_notebooks_are_numbered_in_order():
    names = [nb.name for nb in tutorial.notebooks()]
    assert names == sorted(names) and names[0] == "01_data.ipynb"
    assert all(name[:2].isdigit() for name in names)
