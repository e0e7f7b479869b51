"""The committed notebooks are what readers see on GitHub: keep them clean.

These tests read the notebooks as committed (they execute nothing) and fail on anything a reader
should not see: errors, warnings or log lines on stderr, machine paths, progress-bar spam,
execution counts out of order, a missing part of the tutorial's shape, or a file too large to
render quickly. The checker itself is tested on a deliberately bad notebook.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from catsdogs import tutorial

NOTEBOOKS = tutorial.notebooks()
MAX_BYTES = 2_000_000
MACHINE_PATH = re.compile(r"(/root/|/home/[\w.-]+|/tmp/|/work/|/Users/[\w.-]+|[A-Z]:\\\\Users)")
LOG_LINE = re.compile(r"^(I|W|E)\d{4} |WARNING:absl|oneDNN custom operations|cuda_|TF-TRT", re.MULTILINE)
PROGRESS_BAR = re.compile(r"\d+/\d+ \[[=>.]{5,}")
REQUIRED_HEADINGS = ("What you will learn", "## Summary", "## Exercises", "## Artifacts written")


def _output_text(out) -> str:
    if "text" in out:
        return "".join(out["text"])
    data = out.get("data", {})
    return "".join(data.get("text/plain", "")) + "".join(data.get("text/html", ""))


def notebook_problems(path: Path) -> list[str]:
    """Everything a reader of the rendered notebook should not see, one line each."""
    problems = []
    if path.stat().st_size >= MAX_BYTES:
        problems.append(f"{path.stat().st_size / 1e6:.1f} MB (keep notebooks under 2 MB)")
    nb = json.loads(path.read_text())
    cells = nb["cells"]
    if "jupytext" in nb["metadata"] or nb["metadata"].get("kernelspec", {}).get("name") != "python3":
        problems.append("editor metadata, or a kernelspec other than python3")
    markdown = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    if len(re.findall(r"^# ", markdown, re.MULTILINE)) != 1:
        problems.append("not exactly one H1 title")
    problems += [f"missing '{h}'" for h in REQUIRED_HEADINGS if h not in markdown]
    if sum("parameters" in c.get("metadata", {}).get("tags", []) for c in cells) != 1:
        problems.append("not exactly one cell tagged 'parameters'")
    for index, cell in enumerate(cells):
        for out in cell.get("outputs", []):
            text = _output_text(out)
            if out["output_type"] == "error":
                problems.append(f"cell {index}: error output")
            if out.get("name") == "stderr":
                problems.append(f"cell {index}: stderr {text[:120]!r}")
            for pattern, what in ((MACHINE_PATH, "machine path"), (LOG_LINE, "log line"),
                                  (PROGRESS_BAR, "progress bar (use verbose=2)")):
                if match := pattern.search(text):
                    problems.append(f"cell {index}: {what} {match.group(0)!r}")
    counts = [c.get("execution_count") for c in cells if c["cell_type"] == "code"]
    executed = [n for n in counts if n is not None]
    if executed and executed != list(range(1, len(counts) + 1)):
        problems.append(f"execution counts are not one clean top-to-bottom run: {counts}")
    return problems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebook_is_clean(path):
    assert notebook_problems(path) == []


def test_the_checker_finds_every_kind_of_problem(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["jupytext"] = {}
    first, second = nbformat.v4.new_code_cell("a"), nbformat.v4.new_code_cell("b")
    first.execution_count, second.execution_count = 2, 1
    first.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text="W0000 00:00 cuda_dnn.cc: warning\n"),
        nbformat.v4.new_output("stream", name="stdout", text="saved /home/alice/models/best.keras\n"),
        nbformat.v4.new_output("stream", name="stdout", text="63/63 [==============================] - 70s\n"),
    ]
    second.outputs = [nbformat.v4.new_output("error", ename="ValueError", evalue="x", traceback=[])]
    nb.cells = [nbformat.v4.new_markdown_cell("# One\n# Two"), first, second]
    path = tmp_path / "bad.ipynb"
    nbformat.write(nb, path)
    found = "\n".join(notebook_problems(path))
    for expected in ("editor metadata", "not exactly one H1", "missing '## Summary'", "tagged 'parameters'",
                     "stderr", "machine path '/home/alice'", "log line", "progress bar", "error output",
                     "execution counts"):
        assert expected in found, f"the checker missed: {expected}"


def test_committed_notebooks_are_one_full_run_with_the_default_parameters():
    """Every notebook executed, in order, by one `python -m catsdogs.tutorial` run without parameters."""
    from datetime import datetime, timedelta

    previous_end = None
    first_start = None
    for path in NOTEBOOKS:
        nb = json.loads(path.read_text())
        run = nb["metadata"].get("papermill", {})
        assert run.get("start_time") and run.get("end_time"), f"{path.name} was not executed by the runner"
        assert run.get("parameters", {}) == {}, f"{path.name} ran with parameters {run.get('parameters')}"
        counts = [c.get("execution_count") for c in nb["cells"] if c["cell_type"] == "code"]
        assert None not in counts, f"{path.name} has cells that did not run"
        start, end = (datetime.fromisoformat(run[k]) for k in ("start_time", "end_time"))
        first_start = first_start or start
        assert previous_end is None or start >= previous_end, f"{path.name} ran before the notebook before it"
        previous_end = end
    assert previous_end - first_start < timedelta(hours=4), "the notebooks come from different runs"
