"""The README's numbers are the result files' numbers: tools/update_readme.py writes them, this checks."""

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _tool():
    spec = importlib.util.spec_from_file_location("update_readme", REPO / "tools" / "update_readme.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_numbers_match_the_results():
    tool = _tool()
    readme = (REPO / "README.md").read_text()
    assert tool.render(readme) == readme, "README.md is out of date: run python tools/update_readme.py"


def test_every_notebook_is_in_the_readme_index():
    from catsdogs import tutorial

    assert set(_tool().NOTEBOOKS) == {nb.name for nb in tutorial.notebooks()}


def test_a_changed_number_is_noticed(tmp_path, monkeypatch):
    tool = _tool()
    readme = tool.render((REPO / "README.md").read_text())
    results = tmp_path / "results"
    results.mkdir()
    (results / "run_times.json").write_text('{"seconds": {"01_data.ipynb": 12.0}, "total_seconds": 12.0}')
    monkeypatch.setattr(tool, "RESULTS", results)
    assert tool.render(readme) != readme
    assert "| 12 s |" in tool.render(readme)
