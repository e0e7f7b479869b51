"""Find result numbers typed into prose: every number about a run must be produced by the run.

Notebooks' markdown cells and the hand-written parts of README.md and docs/*.md are scanned for numbers that
look like measurements: decimals (0.853), percentages (85 %), speed ratios (2.7×, "three times faster"),
durations (40 s, 12 min) and "N million"-style counts. What is not flagged:

- code: fenced blocks, inline code spans, link targets, HTML comments;
- generated blocks (``<!-- generated:NAME -->`` … ``<!-- /generated:NAME -->``), written by
  ``python -m tools.update_readme`` from ``results/``;
- settings: a number equal to a value in some notebook's ``parameters`` cell (or that value as a percentage,
  so "dropout 0.5" and "50 % of the inputs" both pass), and sizes written N×N;
- the facts in ``FACTS`` below, each with the reason it is not a result.

Run ``python tools/prose_numbers.py [FILES…]`` (no files: the notebooks, README.md and docs/*.md of the current
directory); it lists what it finds and exits 1 when it finds anything. ``tests/test_prose_numbers.py`` runs it.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

# Phrases that contain numbers but state a fact, not a result of a run, with the reason.
FACTS: dict[str, str] = {
    "Python 3.11": "the supported Python version",
    "TensorFlow 2.21": "the pinned TensorFlow version",
    "Keras 3": "the Keras major version",
    "1.4 million": "the size of ImageNet's training set",
    "1.2 million": "the size of ImageNet's training set (ILSVRC-2012)",
    "3,453,121": "the classic model's parameter count (Deep Learning with Python), a fixed fact of its design",
    "5.2-using-convnets": "the name of a notebook in Deep Learning with Python",
    "notebook 5.2": "the name of a notebook in Deep Learning with Python",
    "1st ed.": "an edition",
    "2nd ed.": "an edition",
    "790 MB": "the size of Oxford-IIIT Pet's images archive, a fact of the download",
    "800 MB": "the size of Oxford-IIIT Pet's images archive, a fact of the download",
    "68 MB": "the size of Google's archive, a fact of the download",
    "14 MB": "the size of MobileNetV2's weights file, a fact of the download",
}

# Patterns of the same kind: licence and standard versions.
FACT_PATTERNS: dict[str, re.Pattern[str]] = {
    "a Creative Commons licence version": re.compile(r"\bCC[ -]BY(?:[ -](?:SA|NC|ND))*[ -]\d\.\d\b"),
}

KINDS: dict[str, re.Pattern[str]] = {
    "percentage": re.compile(r"(?<![\w.])\d+(?:[.,]\d+)?\s?%"),
    "ratio": re.compile(
        r"(?<![\w.])\d+(?:\.\d+)?\s?[×x](?![\w×]|\s?\d)"
        r"|\b(?:\d+(?:\.\d+)?|two|three|four|five|six|seven|eight|nine|ten|several|many)\s+times\s+"
        r"(?:faster|slower|quicker|more|less|fewer|larger|smaller|bigger|as\b)",
        re.IGNORECASE,
    ),
    "duration": re.compile(
        r"(?<![\w.])\d+(?:[.,]\d+)?\s?(?:ms|milliseconds?|s|secs?|seconds?|min|mins|minutes?|h|hrs?|hours?)\b"
    ),
    "count": re.compile(r"(?<![\w.])\d+(?:[.,]\d+)?\s?(?:million|thousand|billion)\b", re.IGNORECASE),
    "decimal": re.compile(r"(?<![\w.])\d*\.\d+(?![\w.]*\d)"),
}

_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
_GENERATED = re.compile(r"<!--\s*generated:([\w-]+)\s*-->.*?<!--\s*/generated:\1\s*-->", re.DOTALL)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1", re.DOTALL)
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_HTML_ATTR = re.compile(r"<[a-zA-Z][^>]*>")
_SIZE = re.compile(r"(?<![\w.])(\d+)\s?[×x]\s?(\d+)(?![\w.])")


@dataclass(frozen=True)
class Finding:
    where: str
    kind: str
    text: str
    context: str

    def __str__(self) -> str:
        return f"{self.where}: {self.kind} {self.text!r} in “…{self.context}…”"


def prose_only(text: str) -> str:
    """Markdown with code, comments, generated blocks, link targets and tags blanked out (same length)."""
    for pattern in (_GENERATED, _FENCE, _COMMENT, _INLINE_CODE, _LINK_TARGET, _HTML_ATTR):
        text = pattern.sub(lambda m: " " * len(m.group(0)), text)
    return text


def _numbers_in(node: ast.AST) -> set[float]:
    return {float(n.value) for n in ast.walk(node)
            if isinstance(n, ast.Constant) and isinstance(n.value, (int, float)) and not isinstance(n.value, bool)}


def setting_values(notebooks: list[Path]) -> set[float]:
    """Every number in the notebooks' ``parameters`` cells: settings may be named in prose."""
    values: set[float] = set()
    for path in notebooks:
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if "parameters" in cell.get("metadata", {}).get("tags", []):
                try:
                    values |= _numbers_in(ast.parse("".join(cell["source"])))
                except SyntaxError:
                    pass
    return values


def _value(token: str) -> float | None:
    match = re.search(r"\d*[.,]?\d+", token)
    if not match:
        return None
    try:
        return float(match.group(0).replace(",", "."))
    except ValueError:
        return None


def check_text(text: str, settings: set[float], where: str = "text") -> list[Finding]:
    """The result-like numbers in one piece of markdown."""
    prose = prose_only(text)
    for fact in FACTS:
        prose = prose.replace(fact, " " * len(fact))
    for pattern in FACT_PATTERNS.values():
        prose = pattern.sub(lambda m: " " * len(m.group(0)), prose)
    sizes = {m.span() for m in _SIZE.finditer(prose) if m.group(1) == m.group(2)}
    prose = _SIZE.sub(lambda m: " " * len(m.group(0)) if m.span() in sizes else m.group(0), prose)
    findings: list[Finding] = []
    taken: list[tuple[int, int]] = []
    for kind, pattern in KINDS.items():
        for match in pattern.finditer(prose):
            start, end = match.span()
            if any(start < b and a < end for a, b in taken):
                continue
            value = _value(match.group(0))
            if value is not None and kind in ("decimal", "percentage"):
                if value in settings or (kind == "percentage" and value / 100 in settings):
                    continue
            taken.append((start, end))
            context = " ".join(text[max(0, start - 40):end + 40].split())
            findings.append(Finding(where, kind, match.group(0).strip(), context))
    return findings


def _shown(path: Path) -> str:
    """The path as the reader knows it: relative to the current directory when it is inside it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def check_notebook(path: Path, settings: set[float]) -> list[Finding]:
    findings = []
    for index, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
        if cell["cell_type"] == "markdown":
            findings += check_text("".join(cell["source"]), settings, f"{_shown(path)} cell {index}")
    return findings


def check_files(paths: list[Path], notebooks_for_settings: list[Path]) -> list[Finding]:
    settings = setting_values(notebooks_for_settings)
    findings: list[Finding] = []
    for path in paths:
        if path.suffix == ".ipynb":
            findings += check_notebook(path, settings)
        else:
            findings += check_text(path.read_text(encoding="utf-8"), settings, _shown(path))
    return findings


def default_files(root: Path) -> list[Path]:
    """What the project promises is free of typed results: notebooks, README.md, docs/*.md.

    ``benchmarks/README.md`` is left out on purpose: it is the record of how settings were measured.
    """
    return sorted((root / "notebooks").glob("*.ipynb")) + [root / "README.md"] + sorted((root / "docs").glob("*.md"))


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    root = Path.cwd()
    paths = [Path(a) for a in args] or [p for p in default_files(root) if p.exists()]
    notebooks = sorted((root / "notebooks").glob("*.ipynb")) + [p for p in paths if p.suffix == ".ipynb"]
    findings = check_files(paths, notebooks)
    for finding in findings:
        print(finding)
    print(f"{len(findings)} typed result number(s) in {len(paths)} file(s)", file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
