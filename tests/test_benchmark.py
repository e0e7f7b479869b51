"""The speed benchmark still runs: its tiny mode on generated images, checked for what it writes.

Benchmarks are scripts, not tests: nothing here looks at how fast anything was.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def test_tiny_benchmark_writes_json_and_figure(tmp_path):
    output, figure = tmp_path / "results" / "benchmark.json", tmp_path / "figures" / "benchmark.png"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "benchmark.py"), "--tiny", "--workdir", str(tmp_path / "work"),
         "--output", str(output), "--figure", str(figure)],
        capture_output=True, text=True, env=env, timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert figure.stat().st_size > 10_000
    results = json.loads(output.read_text())
    assert results["mode"] == "tiny" and results["schema"] == 1
    assert {"hardware", "software", "settings", "matmul", "pipelines", "training", "prediction_latency",
            "load_average", "levers", "duration_s"} <= set(results)
    assert {"cpu_model", "cpu_cores_usable", "gpus"} <= set(results["hardware"])
    assert {"tensorflow", "keras", "python", "numpy"} <= set(results["software"])
    assert results["matmul"]["peak_gflops"] > 0

    pipelines = results["pipelines"]["pipelines"]
    assert {"idg", "idg_workers2", "tfdata", "tfdata_noaug", "tfdata_shear"} <= set(pipelines)
    for name in ("idg", "tfdata"):
        assert pipelines[name]["images_per_s"] > 0 and "speedup_vs_idg" in pipelines[name]

    configs = results["training"]["configs"]
    size = results["settings"]["image_size"]
    for feed in ("memory", "idg", "idg_workers2", "tfdata"):
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


def test_tiny_seed_vs_default_trains_both_and_writes_the_comparison(tmp_path):
    output, figure = tmp_path / "results" / "seed_vs_default.json", tmp_path / "figures" / "seed_vs_default.png"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "seed_vs_default.py"), "--tiny", "--workdir",
         str(tmp_path / "work"), "--output", str(output), "--figure", str(figure)],
        capture_output=True, text=True, env=env, timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert figure.stat().st_size > 10_000
    results = json.loads(output.read_text())
    assert results["mode"] == "tiny" and results["schema"] == 1
    seed, default = results["seed_style"], results["default"]
    assert seed["settings"]["optimizer"] == "RMSprop" and seed["settings"]["image_size"] == 48
    assert default["settings"]["notebook_defaults"] and default["settings"]["seed"] == 43
    for run in (seed, default):
        assert len(run["epochs"]) == run["summary"]["epochs"] == 1
        assert 0 <= run["summary"]["final_val_accuracy"] <= 1 and run["summary"]["seconds_total"] > 0
        # two separately timed medians: no order between them is asserted (tests never compare timings)
        assert run["latency"]["file_to_answer_ms"] > 0 and run["latency"]["model_only_ms"] > 0
    assert results["speedup"] == round(seed["summary"]["seconds_total"] / default["summary"]["seconds_total"], 2)
    assert not list((tmp_path / "work").rglob("*.keras"))  # the notebooks ran in a scratch workspace


def test_tiny_classroom_run_times_the_whole_chain(tmp_path):
    output = tmp_path / "results" / "classroom.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "classroom.py"), "--tiny", "--workdir", str(tmp_path / "work"),
         "--output", str(output)],
        capture_output=True, text=True, env=env, timeout=900,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(output.read_text())
    from catsdogs import tutorial

    assert results["mode"] == "tiny" and results["profile"] == tutorial.CLASSROOM_PARAMETERS
    assert sorted(results["seconds_per_notebook"]) == [nb.name for nb in tutorial.notebooks()]
    per_notebook = results["seconds_per_notebook"]  # each rounded to 0.1 s
    assert results["seconds_total"] + 0.05 * len(per_notebook) >= sum(per_notebook.values()) > 0
    assert results["cnn"]["epochs"] == tutorial.CLASSROOM_PARAMETERS["03_training"]["epochs"]
    assert 0 <= results["cnn"]["final_val_accuracy"] <= 1 and 0 <= results["transfer"]["val_accuracy"] <= 1


def test_tiny_step_times_compare_the_variants(tmp_path):
    output = tmp_path / "results" / "step_times.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "step_times.py"), "--tiny", "--output", str(output)],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(output.read_text())
    variants = results["variants"]
    assert results["mode"] == "tiny" and set(variants) == {"classic_48_b8", "bn_pool_bn_relu_48_b8"}
    assert variants[results["baseline"]]["speedup_vs_seed_style"] == 1.0
    for entry in variants.values():
        assert entry["step_s_median"] > 0
        expected = entry["step_s_median"] / entry["batch_size"] * 2000
        assert abs(entry["train_epoch_s_2000_images"] - expected) <= 0.05 + 1e-3 * expected


def test_tiny_accuracy_variants_record_each_named_run(tmp_path):
    output = tmp_path / "results" / "accuracy_variants.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    script = [sys.executable, str(REPO / "benchmarks" / "accuracy_variants.py"), "--tiny", "--output", str(output)]
    for name, change in (("default", []), ("gap", ["--set", "head=gap", "--set", "filters=8,8,16,16",
                                                                "--set", "optimizer=sgd", "--set", "learning_rate=0.01",
                                                                "--set", "warmup=1", "--set", "ema=0.9",
                                                                "--set", "placement=before_relu"])):
        done = subprocess.run(script + ["--name", name, *change], capture_output=True, text=True, env=env, timeout=600)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    variants = json.loads(output.read_text())["variants"]
    assert sorted(variants) == ["default", "gap"]  # the second run added its entry, the first is kept
    assert variants["gap"]["settings"]["head"] == "gap" and variants["default"]["settings"]["head"] == "flatten"
    assert variants["gap"]["parameters"] < variants["default"]["parameters"]  # narrower, and no big Flatten
    assert variants["gap"]["settings"]["optimizer"] == "sgd" and variants["default"]["settings"]["optimizer"] == "adam"
    assert (variants["gap"]["settings"]["warmup"], variants["gap"]["settings"]["ema"]) == (1, 0.9)
    assert variants["gap"]["settings"]["placement"] == "before_relu"
    for entry in variants.values():
        assert entry["mode"] == "tiny" and len(entry["epochs"]) == entry["settings"]["epochs"] == 2
        assert entry["final_val_accuracy"] == entry["epochs"][-1]["val_accuracy"]
        assert entry["best_val_accuracy"] == max(row["val_accuracy"] for row in entry["epochs"])
        assert 0 <= entry["final_val_accuracy_flip_averaged"] <= 1

    bad = subprocess.run(script + ["--set", "colour=blue"], capture_output=True, text=True, env=env, timeout=300)
    assert bad.returncode != 0 and "expected one of" in bad.stderr
    bad = subprocess.run(script + ["--set", "optimizer=rmsprop"], capture_output=True, text=True, env=env, timeout=300)
    assert bad.returncode != 0 and "optimizer must be adam or sgd" in bad.stderr
    bad = subprocess.run(script + ["--set", "placement=everywhere"], capture_output=True, text=True, env=env, timeout=300)
    assert bad.returncode != 0 and "placement must be after_pool or before_relu or pool_bn_relu" in bad.stderr
    bad = subprocess.run(script + ["--set", "warmup=2"], capture_output=True, text=True, env=env, timeout=300)
    assert bad.returncode != 0 and "warmup must be 0 to epochs - 1" in bad.stderr


def test_committed_classroom_measurement_is_of_the_current_profile():
    """The README quotes results/classroom.json; it must have measured the profile users get today."""
    results = json.loads((REPO / "results" / "classroom.json").read_text())
    from catsdogs import tutorial

    assert results["mode"] == "full", "results/classroom.json must come from the real data (not --tiny)"
    assert results["profile"] == tutorial.CLASSROOM_PARAMETERS, (
        "the classroom profile changed since it was measured: run benchmarks/classroom.py again"
    )


@pytest.mark.parametrize("placement, order", [
    ("after_pool", ["Conv2D", "MaxPooling2D", "BatchNormalization"]),
    ("before_relu", ["Conv2D", "BatchNormalization", "Activation", "MaxPooling2D"]),
    ("pool_bn_relu", ["Conv2D", "MaxPooling2D", "BatchNormalization", "Activation"]),
])
def test_each_batch_norm_placement_builds_its_block(placement, order):
    """The accuracy experiments compare placements by name: each name must build the block it says."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from benchmark import build_model

    model = build_model(True, 48, placement=placement, filters=(4, 4, 8, 8))
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds[:len(order)] == order and kinds.count("BatchNormalization") == 4
    convs = [layer for layer in model.layers if type(layer).__name__ == "Conv2D"]
    # BN followed by the ReLU needs no bias and no activation in the convolution; after the ReLU it keeps both
    assert all(conv.use_bias == (placement == "after_pool") for conv in convs)
    assert all((conv.activation.__name__ == "relu") == (placement == "after_pool") for conv in convs)
    assert model.output_shape == (None, 1)


def test_tiny_gpu_sweep_packs_runs_and_summarises(tmp_path):
    """The GPU sweep's whole path on the CPU (Keras' TensorFlow backend): pack, two runs, step times, summary."""
    sys.path.insert(0, str(REPO / "benchmarks"))
    from benchmark import make_tiny_images

    data = make_tiny_images(tmp_path / "photos", train=8, validation=4, size=48)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    script = [sys.executable, str(REPO / "benchmarks" / "gpu_sweep.py")]

    def run(*args, timeout=600):
        done = subprocess.run(script + [str(a) for a in args], capture_output=True, text=True, env=env, timeout=timeout)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        return done

    pack = tmp_path / "pack48.npz"
    run("pack", "--data", data, "--size", 48, "--output", pack)
    tiny = {"size": 48, "epochs": 2, "batch_size": 4}
    runs = [{"name": "new", **tiny, "placement": "pool_bn_relu", "optimizer": "nadam", "augmentation": "lighter",
             "seed": 1},
            {"name": "new", **tiny, "placement": "pool_bn_relu", "optimizer": "nadam", "augmentation": "lighter",
             "seed": 2},
            {"name": "classic", **tiny, "placement": "none", "optimizer": "rmsprop", "learning_rate": 1e-4, "seed": 1}]
    (tmp_path / "runs.json").write_text(json.dumps(runs))
    run("sweep", tmp_path / "runs.json", tmp_path / "out", "--pack", pack, "--parallel", 2, "--deadline", 300)
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert sorted((r["config"]["name"], r["config"]["seed"]) for r in summary) == [("classic", 1), ("new", 1), ("new", 2)]
    for r in summary:
        assert len(r["curve"]) == 2 and r["final"] == r["curve"][-1] and r["best"] == max(r["curve"])

    run("steps", tmp_path / "steps.json", "--repeats", 1, "--steps", 1, "--warmup", 1)
    steps = json.loads((tmp_path / "steps.json").read_text())["variants"]
    assert set(steps) == {"classic_150_b32", "bn_pool_bn_relu_96_b16", "bn_after_pool_96_b16"}
    assert all(v["ms_per_image"] > 0 for v in steps.values())

    output = tmp_path / "gpu_sweep.json"
    run("summarise", tmp_path / "out" / "summary.json", "--steps", tmp_path / "steps.json",
        "--alone", tmp_path / "out" / "runs" / "000.json", "--output", output)
    result = json.loads(output.read_text())
    new = result["settings"]["new"]
    assert new["seeds"] == [1, 2] and new["change"]["optimizer"] == "nadam"
    finals = [r["final"] for r in summary if r["config"]["name"] == "new"]
    assert abs(new["final_mean"] - sum(finals) / 2) < 1e-4 and new["final_min"] == min(finals)
    assert result["settings"]["classic"]["final_sd"] is None  # one seed: no spread
    assert result["alone"]["final"] == json.loads((tmp_path / "out" / "runs" / "000.json").read_text())["final"]

    bad = subprocess.run(script + ["one", json.dumps({"colour": "blue"}), str(tmp_path / "x.json"), "--pack", str(pack)],
                         capture_output=True, text=True, env=env, timeout=300)
    assert bad.returncode != 0 and "unknown setting" in bad.stderr and not (tmp_path / "x.json").exists()
