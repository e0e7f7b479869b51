"""Write the numbers of the README and the other documents from the result files, so that they cannot disagree.

    .venv/bin/python -m tools.update_readme           # rewrite the generated blocks of every document
    .venv/bin/python -m tools.update_readme --check   # exit 1 if a document is not what the results say

(``python tools/update_readme.py`` works too.) Each generated block sits between ``<!-- generated:NAME -->``
and ``<!-- /generated:NAME -->``; the text around the blocks is written by hand and states no measured
number. The documents and the blocks each must hold are listed in ``DOCUMENTS``; a block may appear in any
of them. The numbers come from ``results/*.json``: the committed run (``run_times.json``, ``history.json``,
``metrics.json``, ``transfer_metrics.json``, ``tfdata_comparison.json``, ``model_comparison.json``,
``transfer_history.json``, ``other_photos.json``) and the benchmark scripts (``seed_vs_default.json``,
``classroom.json``, ``step_times.json``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
RESULTS = ROOT / "results"

#: Each document (relative to the repository) and the generated blocks it must hold.
DOCUMENTS = {
    "README.md": ("notebooks", "results", "web_limits"),
    "benchmarks/README.md": ("committed_run", "transfer", "speed"),
    "docs/teachers_guide.md": ("classroom",),
}

NOTEBOOKS = {  # file: (title, what you learn)
    "01_data.ipynb": ("01 · Data", "the folder layout Keras expects, checking and quarantining broken images, "
                      "`ImageDataGenerator` rescaling and augmentation, why the way photos are shrunk matters"),
    "02_model.ipynb": ("02 · Model", "a four-block Conv2D/MaxPooling network with a 512-unit dense layer and a "
                       "sigmoid output; batch normalisation, and where to put it; reading `model.summary()`"),
    "03_training.ipynb": ("03 · Training", "25 epochs with a cosine learning-rate schedule, the best checkpoint, "
                          "learning curves and overfitting, what changed from the classic setup"),
    "04_evaluation.ipynb": ("04 · Evaluation", "confusion matrix, precision/recall/F1, ROC and precision-recall "
                            "curves, the threshold, the most confident mistakes"),
    "05_prediction.ipynb": ("05 · Prediction", "predicting one photo with exactly the training preprocessing, a "
                            "prediction grid, Grad-CAM heatmaps, your own photos"),
    "06_tfdata.ipynb": ("06 · tf.data", "the modern input pipeline: `image_dataset_from_directory`, preprocessing "
                        "layers, `cache` and `prefetch`, measured against `ImageDataGenerator`"),
    "07_transfer_learning.ipynb": ("07 · Transfer learning", "a pretrained MobileNetV2: frozen features, then "
                                   "fine-tuning at a low learning rate; an honest comparison with our CNN"),
    "08_other_photos.ipynb": ("08 · New photos", "whether the models generalise: both measured on photos from other "
                              "collections, the gap per class and source, calibration, the threshold, Grad-CAM on "
                              "the mistakes"),
}


def load(name: str) -> dict | None:
    path = RESULTS / name
    return json.loads(path.read_text()) if path.exists() else None


def duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


def block_notebooks() -> str:
    run_times = load("run_times.json") or {}
    times = run_times.get("seconds", {})
    rows = ["| notebook | what you learn | time in the committed run |", "|---|---|---|"]
    for name, (title, learn) in NOTEBOOKS.items():
        rows.append(f"| [{title}](notebooks/{name}) | {learn} | "
                    f"{duration(times[name]) if name in times else 'not in the committed run'} |")
    total = run_times.get("total_seconds")
    if total:
        count = {7: "seven", 8: "eight", 9: "nine"}.get(len(times), str(len(times)))
        rows.append(f"| **all {count}** | `bash run_tutorial.sh` | **{duration(total)}** |")
    return "\n".join(rows)


def committed_machine() -> str:
    """The machine of the committed run: recorded by the runner, else (older runs) the benchmarks' machine."""
    recorded = (load("run_times.json") or {}).get("machine")
    if recorded:
        return recorded
    line = (load("seed_vs_default.json") or load("step_times.json") or {}).get("hardware_line", "")
    return f"{line} (the benchmarks' machine; this run did not record its own)" if line else ""


def block_results() -> str:
    """The front page's table: both models, on the validation photos and on photos from elsewhere."""
    metrics, transfer = load("metrics.json"), load("transfer_metrics.json")
    history, transfer_history = load("history.json"), load("transfer_history.json")
    other = (load("other_photos.json") or {}).get("models", {})
    if not metrics:
        return "No committed run yet: `bash run_tutorial.sh` writes `results/metrics.json`."

    def acc(row: dict | None) -> str:
        return f"{row['accuracy']:.3f}" if row and row.get("accuracy") is not None else "not measured"

    def minutes(summary: dict | None) -> str:
        return f"{summary['seconds_total'] / 60:.1f} min" if summary else "not measured"

    mine, theirs = other.get("best.keras"), other.get("transfer.keras")
    n = (mine or theirs or {}).get("n")
    sizes = load("model_comparison.json") or {}
    lines = [
        "| | our CNN (notebooks 2–3) | MobileNetV2, fine-tuned (notebook 7) |", "|---|---:|---:|",
        f"| validation accuracy ({metrics['n']:,} photos; CNN: best checkpoint, transfer: last epoch) "
        f"| **{acc(metrics)}** | **{acc(transfer)}** |",
        f"| accuracy on {n if n else 'the'} photos from other collections (notebook 8) | {acc(mine)} | {acc(theirs)} |",
        f"| training time | {minutes((history or {}).get('summary'))} | "
        f"{minutes((transfer_history or {}).get('summary'))} |",
        f"| input size (pixels) | {sizes.get('cnn', {}).get('input_size', 'n/a')} | "
        f"{sizes.get('transfer', {}).get('input_size', 'n/a')} |",
    ]
    if machine := committed_machine():
        lines += ["", f"Machine: {machine}."]
    return "\n".join(lines)


def block_committed_run() -> str:
    history, metrics = load("history.json"), load("metrics.json")
    if not history or not metrics:
        return "No committed run yet: `bash run_tutorial.sh` writes `results/history.json` and `results/metrics.json`."
    s = history["summary"]
    cm = metrics["confusion_matrix"]
    hardware = committed_machine()
    lines = [
        "| | |", "|---|---|",
        f"| validation accuracy, last epoch (epoch {s['epochs']}) | **{s['final_val_accuracy']:.3f}** |",
        f"| validation accuracy, best checkpoint (epoch {s['best_epoch']}; chosen on the validation photos, so "
        f"slightly optimistic) | {s['best_val_accuracy']:.3f} |",
        f"| ROC AUC / average precision (best checkpoint, {metrics['n']:,} validation photos) | "
        f"{metrics['roc_auc']:.3f} / {metrics['average_precision']:.3f} |",
        f"| confusion matrix (rows: true cats, dogs; columns: predicted) | {cm} |",
        f"| training time | {s['seconds_total'] / 60:.1f} min, {s['seconds_per_epoch_median']:.0f} s per epoch "
        f"(median) |",
    ]
    comparison = load("seed_vs_default.json")
    if comparison:
        other, classic = comparison["default"]["summary"], comparison["seed_style"]["summary"]
        seed = comparison["default"]["settings"]["seed"]
        lines += [
            f"| the same defaults with seed {seed} (`python -m benchmarks.seed_vs_default`): last epoch / best | "
            f"{other['final_val_accuracy']:.3f} / {other['best_val_accuracy']:.3f} |",
            f"| stability: last-epoch accuracy of the two seeds | "
            f"{abs(other['final_val_accuracy'] - s['final_val_accuracy']) * 100:.1f} points apart |",
            f"| the classic seed-style setup, same epochs and machine: last epoch / best | "
            f"{classic['final_val_accuracy']:.3f} / {classic['best_val_accuracy']:.3f} |",
        ]
    if hardware:
        lines += ["", f"Hardware and software: {hardware}."]
    return "\n".join(lines)


def block_speed() -> str:
    comparison, classroom, steps = load("seed_vs_default.json"), load("classroom.json"), load("step_times.json")
    tfdata = load("tfdata_comparison.json")
    lines = []
    if comparison:
        d, c = comparison["default"], comparison["seed_style"]
        lines += [
            f"Measured one after the other by `python -m benchmarks.seed_vs_default` ({comparison['hardware_line']}), "
            f"{d['summary']['epochs']} epochs each:",
            "",
            "| | seed-style: classic model, 150×150, batch 32, RMSprop | this tutorial's default |",
            "|---|---:|---:|",
            f"| training time | {c['summary']['seconds_total'] / 60:.1f} min | "
            f"**{d['summary']['seconds_total'] / 60:.1f} min ({comparison['speedup']:.2f}× faster)** |",
            f"| seconds per epoch (median) | {c['summary']['seconds_per_epoch_median']:.0f} | "
            f"{d['summary']['seconds_per_epoch_median']:.0f} |",
            f"| validation accuracy, last epoch | {c['summary']['final_val_accuracy']:.3f} | "
            f"{d['summary']['final_val_accuracy']:.3f} |",
            f"| warm prediction of one JPEG file: decode, resize, model | {c['latency']['file_to_answer_ms']:.0f} ms | "
            f"**{d['latency']['file_to_answer_ms']:.0f} ms** |",
            f"| of which the model (`predict_on_batch`) / called eagerly | {c['latency']['model_only_ms']:.0f} / "
            f"{c['latency']['model_call_eager_ms']:.0f} ms | {d['latency']['model_only_ms']:.0f} / "
            f"{d['latency']['model_call_eager_ms']:.0f} ms |",
        ]
    if steps:
        v = steps["variants"]

        def ms(name: str) -> str:
            return f"{v[name]['ms_per_image']:.1f} ms" if name in v else "n/a"

        lines += [
            "",
            "What each change bought, per training step (`python -m benchmarks.step_times`, pure computation, interleaved; "
            "milliseconds per photo, lower is better):",
            "",
            "| change | before | after | gain |",
            "|---|---:|---:|---:|",
        ]
        for label, before, after in (
            ("batch normalisation, usual place (Conv → BN → ReLU → pool), 150×150", "classic_150_b32",
             "bn_before_relu_150_b32"),
            ("pooling first (Conv → pool → BN → ReLU), 150×150", "bn_before_relu_150_b32", "bn_pool_bn_relu_150_b32"),
            ("photos 150 → 128 px", "bn_pool_bn_relu_150_b32", "bn_pool_bn_relu_128_b32"),
            ("photos 128 → 96 px", "bn_pool_bn_relu_128_b32", "bn_pool_bn_relu_96_b32"),
            ("batch 32 → 16", "bn_pool_bn_relu_96_b32", "bn_pool_bn_relu_96_b16"),
            ("all together: seed-style → default", "classic_150_b32", "bn_pool_bn_relu_96_b16"),
            ("classroom: 96 → 64 px", "bn_pool_bn_relu_96_b16", "bn_pool_bn_relu_64_b16"),
        ):
            if before in v and after in v:
                gain = v[before]["ms_per_image"] / v[after]["ms_per_image"]
                lines.append(f"| {label} | {ms(before)} | {ms(after)} | {gain:.2f}× |")
    if tfdata:
        t = tfdata["seconds_per_epoch_median"]
        lines += ["", f"Input pipeline (notebook 06, same run): an epoch took {t['ImageDataGenerator']:.0f} s with "
                  f"`ImageDataGenerator` and {t['tf.data']:.0f} s with a cached `tf.data` pipeline "
                  f"({t['ImageDataGenerator'] / t['tf.data']:.2f}×)."]
    if classroom:
        cnn = classroom["cnn"]
        lines += [
            "",
            f"**Classroom profile** (`bash run_tutorial.sh --profile classroom`), measured by "
            f"`python -m benchmarks.classroom` from the archive to the last notebook: "
            f"**{_minutes_seconds(classroom['seconds_total'])}** for all seven notebooks; "
            f"the CNN reached **{cnn['final_val_accuracy']:.3f}** validation accuracy "
            f"after {cnn['epochs']} epochs (best checkpoint {cnn['best_val_accuracy']:.3f}), the transfer model "
            f"{classroom['transfer']['val_accuracy']:.3f}. Per notebook: "
            + ", ".join(f"{k[:2]} {v:.0f} s" for k, v in classroom["seconds_per_notebook"].items()) + ".",
        ]
    return "\n".join(lines) if lines else "No speed measurements yet: run the scripts in `benchmarks/`."


def _minutes_seconds(seconds: float) -> str:
    """298.2 -> '4 min 58 s': near a limit of whole minutes, a rounded '5.0 min' would hide which side it is on."""
    whole = round(seconds)
    return f"{whole // 60} min {whole % 60:02d} s"


def block_transfer() -> str:
    comparison, history = load("model_comparison.json"), load("transfer_history.json")
    if not comparison:
        return "Notebook 07 has not written `results/model_comparison.json` yet."
    cnn, tr = comparison["cnn"], comparison["transfer"]

    def cell(row: dict, key: str, fmt: str) -> str:
        return "n/a" if row.get(key) is None else fmt.format(row[key])

    rows = [
        ("validation accuracy", "accuracy", "{:.3f}"), ("ROC AUC", "roc_auc", "{:.3f}"),
        ("input size (pixels)", "input_size", "{}"), ("parameters", "parameters", "{:,}"),
        ("trainable parameters (last phase)", "trainable_parameters", "{:,}"),
        ("training time (min)", "training_minutes", "{:.1f}"),
        ("single-image prediction, compiled (ms)", "latency_ms", "{:.1f}"),
        ("model size on disk (MB)", "size_mb", "{:.1f}"),
    ]
    lines = ["| | our CNN (notebooks 2–3) | MobileNetV2, fine-tuned (notebook 7) |", "|---|---:|---:|"]
    lines += [f"| {label} | {cell(cnn, key, fmt)} | {cell(tr, key, fmt)} |" for label, key, fmt in rows[:1]]
    other = (load("other_photos.json") or {}).get("models", {})
    if other:
        mine, theirs = other.get("best.keras", {}), other.get("transfer.keras", {})
        n = (mine or theirs).get("n")
        lines.append(f"| accuracy on {n} photos from other collections (notebook 8) | {cell(mine, 'accuracy', '{:.3f}')} "
                     f"| {cell(theirs, 'accuracy', '{:.3f}')} |")
        lines.append("| there: recall of cats / of dogs | " + " | ".join(
            f"{row['recall']['cats']:.3f} / {row['recall']['dogs']:.3f}" if row else "n/a" for row in (mine, theirs))
            + " |")
    lines += [f"| {label} | {cell(cnn, key, fmt)} | {cell(tr, key, fmt)} |" for label, key, fmt in rows[1:]]
    if history:
        s = history["summary"]
        reached = (f"first reached {s['target_accuracy']:.0%} after epoch {s['first_epoch_at_target']}, "
                   f"{s['minutes_to_target']:.1f} min into training" if s.get("first_epoch_at_target")
                   else f"did not reach {s['target_accuracy']:.0%}")
        lines += ["", f"Transfer training: {s['frozen_epochs']} frozen + {s['fine_tune_epochs']} fine-tuning epochs, "
                  f"{s['seconds_total'] / 60:.1f} min; validation accuracy {reached}."]
    return "\n".join(lines)


def block_web_limits() -> str:
    """The web app's limits, from the constants it enforces (``catsdogs/web/limits.py``)."""
    from catsdogs.web import limits  # the package: installed into .venv, or the current folder with python -m

    decodes, pixels = limits.MAX_CONCURRENT_DECODES, limits.MAX_PIXELS
    bound = limits.decode_memory_bound(pixels, decodes)
    return (f"**Limits:** one photo per request: {limits.accepted_text()}, checked from the file header before the "
            f"image is decoded. Each photo is decoded once and at most {decodes} at a time (others wait up to "
            f"{limits.DECODE_WAIT_SECONDS:g} s, then get 503 with `Retry-After`), so decoding adds at most "
            f"{decodes} × {limits.megapixels_text(pixels)} × {limits.BYTES_PER_PIXEL} bytes × "
            f"{limits.COPIES_PER_DECODE} copies = {bound / 1e6:.0f} MB to the server however many uploads arrive.")


CLASS_MINUTES = 90  # the teacher's guide plans a class of this length


def block_classroom() -> str:
    """The teacher's guide's table: the classroom profile's measured time per notebook (``results/classroom.json``)."""
    classroom = load("classroom.json")
    if not classroom:
        return "Not measured yet: `python -m benchmarks.classroom` writes `results/classroom.json`."
    times = classroom["seconds_per_notebook"]
    rows = ["| notebook | time with the classroom profile |", "|---|---:|"]
    for name, (title, _) in NOTEBOOKS.items():
        shown = duration(times[name]) if name in times else "skipped (no copy of its photos given)"
        rows.append(f"| [{title}](../notebooks/{name}) | {shown} |")
    count = {7: "seven", 8: "eight"}.get(len(times), str(len(times)))
    rows.append(f"| **all {count}**, from the archive to the last notebook | "
                f"**{_minutes_seconds(classroom['seconds_total'])}** |")
    cnn, transfer = classroom["cnn"], classroom["transfer"]
    slowest = max(times, key=times.get)
    rows += [
        "",
        f"Measured by `python -m benchmarks.classroom` on {classroom['created'][:10]}: {classroom['hardware_line']}. "
        f"The whole run takes {classroom['seconds_total'] / (CLASS_MINUTES * 60):.0%} of a {CLASS_MINUTES}-minute "
        f"class; the longest step is notebook {slowest[:2]} ({times[slowest] / classroom['seconds_total']:.0%} "
        f"of the run). "
        f"The CNN reached {cnn['final_val_accuracy']:.3f} validation accuracy after {cnn['epochs']} epochs, "
        f"the transfer model {transfer['val_accuracy']:.3f}.",
    ]
    return "\n".join(rows)


BLOCKS = {"notebooks": block_notebooks, "results": block_results, "web_limits": block_web_limits,
          "committed_run": block_committed_run, "speed": block_speed, "transfer": block_transfer,
          "classroom": block_classroom}

_BLOCK = re.compile(r"<!-- generated:([a-z_]+) -->\n.*?<!-- /generated:\1 -->", re.DOTALL)


def render(text: str, required: tuple[str, ...] = ("notebooks", "results"), where: str = "README.md") -> str:
    """``text`` with every generated block written afresh; ``required`` blocks must be there."""
    found = set(_BLOCK_NAMES.findall(text))
    if missing := [name for name in required if name not in found]:
        raise SystemExit(f"{where} has no generated block '{missing[0]}'")
    if unknown := sorted(found - set(BLOCKS)):
        raise SystemExit(f"{where} has a generated block nobody writes: '{unknown[0]}' (known: {', '.join(BLOCKS)})")
    bodies = {name: BLOCKS[name]() for name in found}
    return _BLOCK.sub(lambda m: f"<!-- generated:{m[1]} -->\n{bodies[m[1]]}\n<!-- /generated:{m[1]} -->", text)


_BLOCK_NAMES = re.compile(r"<!-- generated:([a-z_]+) -->")


def render_document(path: str) -> tuple[str, str]:
    """(the document's text now, what it should be)."""
    current = (ROOT / path).read_text(encoding="utf-8")
    return current, render(current, DOCUMENTS[path], path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only check; exit 1 if a document is out of date")
    args = parser.parse_args(argv)
    stale = []
    for path in DOCUMENTS:
        current, updated = render_document(path)
        if updated == current:
            continue
        stale.append(path)
        if not args.check:
            (ROOT / path).write_text(updated, encoding="utf-8")
    if args.check:
        if stale:
            print(f"{', '.join(stale)} out of date with results/: run python -m tools.update_readme", file=sys.stderr)
            return 1
        return 0
    print(f"updated: {', '.join(stale)}" if stale else "every document was up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
