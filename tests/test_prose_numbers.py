"""Prose never states a result the run did not produce (tools/prose_numbers.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tools import prose_numbers

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SETTINGS = prose_numbers.setting_values(NOTEBOOKS)


def kinds(text: str, settings: set[float] = frozenset({25.0, 0.5, 150.0})) -> list[str]:
    return [f.kind for f in prose_numbers.check_text(text, set(settings))]


@pytest.mark.parametrize("text, kind", [
    ("the classic model reaches about 77 % after 25 epochs", "percentage"),
    ("its own table shows 0.853", "decimal"),
    ("On the same machine it is 2.7× faster", "ratio"),
    ("tf.data is three times faster here", "ratio"),
    ("the benchmark takes about 40 minutes", "duration"),
    ("an epoch takes 51 s on two cores", "duration"),
    ("Flatten + Dense(512) had 3.2 million parameters", "count"),
    ("the loss falls to 3.2 by the end", "decimal"),
])
def test_typed_results_are_found(text, kind):
    assert kind in kinds(text)


@pytest.mark.parametrize("text", [
    "Part 2 of 8 · four blocks, 512 units, 25 epochs on 2,000 training and 1,000 validation photos",
    "a threshold of 0.5; dropout switches off 50 % of the inputs",  # settings, by value and as a percentage
    "photos resized to 150×150 pixels",  # a size
    "set `zoom_range=0.1` and run `-p 03_training.epochs 5`",  # code
    "```python\nmodel.fit(x, epochs=3)  # 0.853\n```",  # a fenced block
    "<!-- generated:results -->\n| CNN | 0.853 | 12 min |\n<!-- /generated:results -->",  # generated
    "see [the record](../benchmarks/README.md#step-2.7-times)",  # a link target
    "Python 3.11, TensorFlow 2.21 and Keras 3; photos under CC BY-SA 4.0",  # facts
    "## 3. Training",
])
def test_settings_code_and_facts_pass(text):
    assert kinds(text) == []


def test_a_notebook_cell_is_named_in_the_finding(tmp_path):
    notebook = tmp_path / "x.ipynb"
    notebook.write_text(json.dumps({"cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Title\n"]},
        {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": ["threshold = 0.4\n"],
         "outputs": [], "execution_count": None},
        {"cell_type": "markdown", "metadata": {}, "source": ["With 0.4 it reaches 0.91."]},
    ]}))
    findings = prose_numbers.check_files([notebook], [notebook])
    assert [(f.where.endswith("x.ipynb cell 2"), f.text) for f in findings] == [(True, "0.91")]


def test_settings_are_read_from_the_notebooks_parameters_cells():
    assert {25.0, 0.5} <= SETTINGS  # 03's epochs and 04's threshold


def test_notebooks_readme_and_docs_state_no_typed_results():
    files = [p for p in prose_numbers.default_files(ROOT) if p.exists()]
    assert any(p.suffix == ".ipynb" for p in files) and ROOT / "README.md" in files
    findings = prose_numbers.check_files(files, NOTEBOOKS)
    assert not findings, "numbers typed into prose (produce them in a code cell or a generated block):\n" + \
        "\n".join(map(str, findings))
