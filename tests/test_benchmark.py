"""The benchmarks measure what the notebooks build, and they still run.

The defaults and the model must be the notebooks': a check of the defaults read from the parameters cells
(fast), and notebook 02's saved model compared layer by layer with the benchmarks' (slow: it runs notebooks
01 and 02). Then each script's tiny mode on generated images, checked for what it writes. Benchmarks are
scripts, not tests: nothing here looks at how fast anything was.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import make_image_set, zip_folder

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = ("01_data", "02_model", "03_training")


def _run(module: str, *args, timeout: int = 900, **env_extra) -> subprocess.CompletedProcess:
    """``python -m <module> args`` from the repository root; fails the test with its output if it fails."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]), **env_extra}
    done = subprocess.run([sys.executable, "-m", module, *map(str, args)], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=timeout)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def _inspected(stem: str) -> dict:
    """A notebook's parameters as papermill reads them, independently of benchmarks.defaults."""
    import ast

    import papermill

    found = papermill.inspect_notebook(str(REPO / "notebooks" / f"{stem}.ipynb"))
    return {name: ast.literal_eval(p["default"]) for name, p in found.items()}


def test_the_benchmarks_take_the_notebooks_defaults():
    from benchmarks import benchmark, step_times
    from benchmarks.defaults import tutorial_defaults

    data, model, training = (_inspected(stem) for stem in NOTEBOOKS)
    d = tutorial_defaults()
    assert (d.image_size, d.interpolation, d.batch_size, d.augmentation) == (
        data["image_size"], data["interpolation"], data["batch_size"], data["augmentation"])
    assert d.seed == data["seed"] == model["seed"] == training["seed"]
    assert (d.batch_norm, d.dropout, d.learning_rate) == (model["batch_norm"], model["dropout"], model["learning_rate"])
    assert (d.epochs, d.workers) == (training["epochs"], training["workers"])

    s = benchmark.settings_for(tiny=False)
    assert (s.image_size, s.interpolation, s.batch_size, s.augmentation, s.seed, s.workers) == (
        data["image_size"], data["interpolation"], data["batch_size"], data["augmentation"], data["seed"],
        training["workers"])
    tiny = benchmark.settings_for(tiny=True)
    assert (tiny.interpolation, tiny.augmentation, tiny.seed) == (s.interpolation, s.augmentation, s.seed)
    name, (_, size, batch) = step_times.tutorial_variant()
    assert (size, batch) == (data["image_size"], data["batch_size"]) and name in step_times.variants(tiny=False)


def test_the_tfdata_augmentation_has_a_layer_for_each_generator_argument():
    """benchmarks.pipelines mirrors notebook 01's ImageDataGenerator arguments with notebook 06's layers."""
    from benchmarks.defaults import tutorial_defaults
    from benchmarks.pipelines import augmentation_layers

    augmentation = tutorial_defaults().augmentation
    kinds = {type(layer).__name__ for layer in augmentation_layers(augmentation, seed=0)}
    expected = {"rotation_range": "RandomRotation", "width_shift_range": "RandomTranslation",
                "height_shift_range": "RandomTranslation", "zoom_range": "RandomZoom", "horizontal_flip": "RandomFlip"}
    assert set(augmentation) <= set(expected), f"no tf.data equivalent for {set(augmentation) - set(expected)}"
    assert kinds == {expected[key] for key, value in augmentation.items() if value}


#: The config keys that define what a layer computes (names and dtypes left out).
LAYER_KEYS = ("filters", "kernel_size", "strides", "padding", "use_bias", "activation", "pool_size", "momentum",
              "epsilon", "center", "scale", "rate", "units", "data_format", "dilation_rate", "axis")


def _layers(model) -> list[tuple]:
    return [(type(layer).__name__, {k: v for k, v in layer.get_config().items() if k in LAYER_KEYS})
            for layer in model.layers]


@pytest.mark.slow
def test_the_benchmarks_default_model_is_notebook_02s(tmp_path):
    """Notebooks 01 and 02 in quick mode save untrained.keras; the benchmarks' default model must be the same."""
    archive = zip_folder(make_image_set(tmp_path / "source", train=8, validation=4, size=72),  # the smallest accepted
                         tmp_path / "cats_and_dogs_filtered.zip")
    work = tmp_path / "work"
    _run("catsdogs.tutorial", "--quick", "--only", "01", "02", "--workdir", work, "--output-dir",
         tmp_path / "executed", timeout=600, CATSDOGS_DATA=str(archive))
    from catsdogs.env import quiet_tensorflow

    quiet_tensorflow()
    import keras

    from benchmarks.common import tutorial_model

    saved = keras.models.load_model(work / "models" / "untrained.keras")
    size = saved.input_shape[1]
    ours = tutorial_model(size)
    assert ours.input_shape == saved.input_shape
    assert _layers(ours) == _layers(saved)
    assert ours.count_params() == saved.count_params()
    assert type(ours.optimizer).__name__ == type(saved.optimizer).__name__
    rate = float(keras.ops.convert_to_numpy(saved.optimizer.learning_rate))
    assert float(keras.ops.convert_to_numpy(ours.optimizer.learning_rate)) == pytest.approx(rate)
    assert ours.loss == saved.loss


@pytest.mark.parametrize("placement, order", [
    ("none", ["Conv2D", "MaxPooling2D", "Conv2D"]),
    ("pool_bn_relu", ["Conv2D", "MaxPooling2D", "BatchNormalization", "Activation"]),
    ("before_relu", ["Conv2D", "BatchNormalization", "Activation", "MaxPooling2D"]),
    ("after_pool", ["Conv2D", "MaxPooling2D", "BatchNormalization"]),
])
def test_each_batch_norm_placement_builds_its_block(placement, order):
    """step_times compares placements by name: each name must build the block it says."""
    from catsdogs.env import quiet_tensorflow

    quiet_tensorflow()
    from benchmarks.common import build_model

    model = build_model(False, 48, placement=placement)
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds[:len(order)] == order and kinds.count("BatchNormalization") == (0 if placement == "none" else 4)
    convs = [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]
    # BN followed by the ReLU needs no bias and no activation in the convolution; otherwise it keeps both
    fused = placement in ("none", "after_pool")
    assert all(conv.use_bias == fused and (conv.activation.__name__ == "relu") == fused for conv in convs)
    assert model.output_shape == (None, 1)


@pytest.mark.slow
def test_tiny_benchmark_writes_json_and_figure(tmp_path):
    output, figure = tmp_path / "results" / "benchmark.json", tmp_path / "figures" / "benchmark.png"
    _run("benchmarks.benchmark", "--tiny", "--workdir", tmp_path / "work", "--output", output, "--figure", figure)
    assert figure.stat().st_size > 10_000
    results = json.loads(output.read_text())
    assert results["mode"] == "tiny" and results["schema"] == 1
    assert {"hardware", "software", "settings", "matmul", "pipelines", "training", "prediction_latency",
            "load_average", "levers", "duration_s"} <= set(results)
    assert {"cpu_model", "cpu_cores_usable", "gpus"} <= set(results["hardware"])
    assert {"tensorflow", "keras", "python", "numpy"} <= set(results["software"])
    assert results["matmul"]["peak_gflops"] > 0
    settings = results["settings"]
    assert settings["augmentation"] == settings["notebook_defaults"]["augmentation"]

    pipelines = results["pipelines"]["pipelines"]
    assert {"idg", "idg_workers2", "idg_noaug", "tfdata", "tfdata_noaug"} <= set(pipelines)
    for name in ("idg", "tfdata"):
        assert pipelines[name]["images_per_s"] > 0 and "speedup_vs_idg" in pipelines[name]

    configs = results["training"]["configs"]
    size = settings["image_size"]
    for feed in ("memory", "idg", f"idg_workers{settings['workers']}", "tfdata"):
        entry = configs[f"batchnorm_{size}_{feed}"]
        assert entry["step_s_median"] > 0 and entry["epoch_s_estimate"] > 0
        assert 0 < entry["fraction_of_matmul_peak"] and entry["achieved_gflops"] > 0
    assert f"batchnorm_{size}_tfdata_in_model" in configs
    flops = results["training"]["flops"][f"batchnorm_{size}"]
    assert flops["train_step_per_image"] == 3 * flops["forward_per_image_analytic"] > 0

    latency = results["prediction_latency"]
    for mode in ("predict", "call"):
        assert latency["cold_fresh_process"][mode]["first_call_s"] > 0
        assert latency["warm_median_s"][mode] > 0
    assert "batchnorm" in results["levers"]

    redrawn = tmp_path / "redrawn.png"
    _run("benchmarks.figure", output, "--figure", redrawn, timeout=300)
    assert redrawn.stat().st_size > 10_000


@pytest.mark.slow
def test_tiny_seed_vs_default_trains_both_and_writes_the_comparison(tmp_path):
    from benchmarks.defaults import tutorial_defaults

    output, figure = tmp_path / "results" / "seed_vs_default.json", tmp_path / "figures" / "seed_vs_default.png"
    _run("benchmarks.seed_vs_default", "--tiny", "--workdir", tmp_path / "work", "--output", output, "--figure", figure)
    assert figure.stat().st_size > 10_000
    results = json.loads(output.read_text())
    assert results["mode"] == "tiny" and results["schema"] == 1
    seed, default = results["seed_style"], results["default"]
    assert seed["settings"]["optimizer"] == "RMSprop" and seed["settings"]["image_size"] == 48
    assert default["settings"]["notebook_defaults"] and default["settings"]["seed"] == tutorial_defaults().seed + 1
    for run in (seed, default):
        assert len(run["epochs"]) == run["summary"]["epochs"] == 1
        assert 0 <= run["summary"]["final_val_accuracy"] <= 1 and run["summary"]["seconds_total"] > 0
        # two separately timed medians: no order between them is asserted (tests never compare timings)
        assert run["latency"]["file_to_answer_ms"] > 0 and run["latency"]["model_only_ms"] > 0
    assert results["speedup"] == round(seed["summary"]["seconds_total"] / default["summary"]["seconds_total"], 2)
    assert not list((tmp_path / "work").rglob("*.keras"))  # the notebooks ran in a scratch workspace


@pytest.mark.slow
def test_tiny_classroom_run_times_the_whole_chain(tmp_path):
    output = tmp_path / "results" / "classroom.json"
    _run("benchmarks.classroom", "--tiny", "--workdir", tmp_path / "work", "--output", output)
    results = json.loads(output.read_text())
    from catsdogs import tutorial

    assert results["mode"] == "tiny" and results["profile"] == tutorial.CLASSROOM_PARAMETERS
    # every notebook, except those the profile skips without their data (notebook 08 without its photos)
    expected = [nb.name for nb in tutorial.notebooks() if tutorial.skip_reason(nb, "classroom", {}) is None]
    assert sorted(results["seconds_per_notebook"]) == expected
    per_notebook = results["seconds_per_notebook"]  # each rounded to 0.1 s
    assert results["seconds_total"] + 0.05 * len(per_notebook) >= sum(per_notebook.values()) > 0
    assert results["cnn"]["epochs"] == tutorial.CLASSROOM_PARAMETERS["03_training"]["epochs"]
    assert 0 <= results["cnn"]["final_val_accuracy"] <= 1 and 0 <= results["transfer"]["val_accuracy"] <= 1


@pytest.mark.slow
def test_tiny_step_times_compare_the_variants(tmp_path):
    output = tmp_path / "results" / "step_times.json"
    _run("benchmarks.step_times", "--tiny", "--output", output, timeout=600)
    results = json.loads(output.read_text())
    variants = results["variants"]
    assert results["mode"] == "tiny" and set(variants) == {"classic_48_b8", "bn_pool_bn_relu_48_b8"}
    assert variants[results["baseline"]]["speedup_vs_seed_style"] == 1.0
    for entry in variants.values():
        assert entry["step_s_median"] > 0
        expected = entry["step_s_median"] / entry["batch_size"] * 2000
        assert abs(entry["train_epoch_s_2000_images"] - expected) <= 0.05 + 1e-3 * expected


def test_committed_classroom_measurement_is_of_the_current_profile():
    """The README quotes results/classroom.json; it must have measured the profile users get today."""
    results = json.loads((REPO / "results" / "classroom.json").read_text())
    from catsdogs import tutorial

    assert results["mode"] == "full", "results/classroom.json must come from the real data (not --tiny)"
    assert results["profile"] == tutorial.CLASSROOM_PARAMETERS, (
        "the classroom profile changed since it was measured: run python -m benchmarks.classroom again"
    )


def test_no_benchmark_edits_the_import_path():
    """The benchmarks are a package, imported as one (python -m benchmarks.<name>), never through sys.path."""
    for path in [*(REPO / "benchmarks").glob("*.py"), REPO / "tools" / "update_readme.py"]:
        assert "sys.path.insert" not in path.read_text(), path.name


@pytest.mark.slow
def test_tiny_other_photos_seeds_runs_each_variant_and_seed(tmp_path):
    output = tmp_path / "results" / "other_photos_seeds.json"
    _run("benchmarks.other_photos_seeds", "--tiny", "--seeds", "1", "2", "--variants", "colour", "no_colour",
         "--output", output)
    results = json.loads(output.read_text())
    assert results["mode"] == "tiny" and [(r["variant"], r["seed"]) for r in results["runs"]] == [
        ("colour", 1), ("colour", 2), ("no_colour", 1), ("no_colour", 2)]
    for run in results["runs"]:
        assert 0 <= run["other_accuracy"] <= 1 and run["other_n"] == 8 and set(run["other_recall"]) == {"cats", "dogs"}
    colour = results["means"]["colour"]
    assert colour["seeds"] == 2 and colour["other_accuracy"] == pytest.approx(
        sum(r["other_accuracy"] for r in results["runs"][:2]) / 2, abs=1e-4)


def test_the_benchmarks_read_the_colour_changes_from_notebook_01():
    from benchmarks.defaults import notebook_defaults, tutorial_defaults

    assert tutorial_defaults().colour_augmentation == notebook_defaults("01_data")["colour_augmentation"]
