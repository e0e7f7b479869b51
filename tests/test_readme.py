"""The documents' numbers are the result files' numbers: tools/update_readme.py writes them, this checks.

It also keeps the README a front page: short, with the notebook index the notebooks link to, and the two
commands (the test command is exactly the one CI runs).
"""

import importlib.util
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _tool():
    spec = importlib.util.spec_from_file_location("update_readme", REPO / "tools" / "update_readme.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("document", list(_tool().DOCUMENTS))
def test_every_document_matches_the_results(document):
    current, updated = _tool().render_document(document)
    assert updated == current, f"{document} is out of date: run python -m tools.update_readme"


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


def test_a_missing_or_unknown_block_is_an_error():
    tool = _tool()
    with pytest.raises(SystemExit, match="no generated block 'results'"):
        tool.render("<!-- generated:notebooks -->\n<!-- /generated:notebooks -->\n", ("notebooks", "results"))
    with pytest.raises(SystemExit, match="nobody writes: 'speeed'"):
        tool.render("<!-- generated:speeed -->\n<!-- /generated:speeed -->\n", ())


def test_the_readme_is_a_front_page():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 200, "the README is a front page: move detail to docs/ or benchmarks/"
    assert "\n## The notebooks\n" in readme, "the notebooks link to ../README.md#the-notebooks"
    assert "bash run_tutorial.sh" in readme
    ci = (REPO / ".ci" / "run").read_text()
    command = re.search(r"^exec (bash run_tests\.sh.*)$", ci, re.MULTILINE)[1]
    assert f"{command} " in readme, f"the README's test command must be CI's: {command}"


def test_the_documents_link_to_files_that_exist():
    docs = [p.relative_to(REPO).as_posix() for p in (REPO / "docs").glob("*.md")]
    for document in sorted({"README.md", *_tool().DOCUMENTS, *docs}):
        path = REPO / document
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)|src=\"([^\"]+)\"", path.read_text(encoding="utf-8")):
            target = next(t for t in target if t)
            if re.match(r"[a-z]+:", target):
                continue  # a web address
            assert (path.parent / target).exists(), f"{document} links to {target}, which does not exist"
