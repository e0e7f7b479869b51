"""The whole notebook chain, executed in order with papermill on a small generated image set.

Quick settings (64×64 images, one epoch) keep it to a couple of minutes. The notebooks write
into a temporary workspace; the committed notebooks and outputs are never touched.
"""

from __future__ import annotations

import json
import shutil

import pytest

from catsdogs import data, tutorial

from .conftest import make_image_set, zip_folder

pytestmark = pytest.mark.slow
N_VALIDATION = 2 * data.MIN_IMAGES["validation"]


def _outputs(notebook) -> str:
    texts = []
    for cell in json.loads(notebook.read_text())["cells"]:
        for out in cell.get("outputs", []):
            if "text" in out:
                texts.append("".join(out["text"]))
            texts.append("".join(out.get("data", {}).get("text/plain", "")))
    return "\n".join(texts)


def _counts(share: float, n: int) -> bool:
    """Whether ``share`` is a count out of ``n`` (within the rounding of the saved numbers)."""
    return abs(share * n - round(share * n)) < 1e-3


def _check_report(metrics: dict, n: int) -> None:
    """The saved report agrees with itself: counts add up, accuracy is the diagonal, AUC counts pairs."""
    matrix = metrics["confusion_matrix"]
    assert metrics["n"] == n and sum(map(sum, matrix)) == n
    assert metrics["accuracy"] == pytest.approx((matrix[0][0] + matrix[1][1]) / n, abs=1e-6)
    # n/2 cats and n/2 dogs: the AUC is a number of (cat, dog) pairs, ties counting half, over (n/2)²
    assert _counts(metrics["roc_auc"], 2 * (n // 2) ** 2), metrics["roc_auc"]


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    root = tmp_path_factory.mktemp("chain")
    # the smallest data set the data layer accepts: every notebook must cope with it
    archive = zip_folder(make_image_set(root / "source", train=data.MIN_IMAGES["train"],
                                        validation=data.MIN_IMAGES["validation"], size=80),
                         root / "cats_and_dogs_filtered.zip")
    work, executed = root / "work", root / "executed"
    code = tutorial.main(["--quick", "--workdir", str(work), "--output-dir", str(executed),
                          "-p", "01_data.data_source", str(archive)])
    assert code == 0, "the notebook chain failed (see the output above)"
    return work, executed


def test_every_notebook_ran_and_the_committed_ones_were_not_touched(chain):
    work, executed = chain
    names = [nb.name for nb in tutorial.notebooks()]
    assert names == ["01_data.ipynb", "02_model.ipynb", "03_training.ipynb", "04_evaluation.ipynb",
                     "05_prediction.ipynb", "06_tfdata.ipynb", "07_transfer_learning.ipynb",
                     "08_other_photos.ipynb"]
    assert sorted(p.name for p in executed.glob("*.ipynb")) == names
    assert not (work / "notebooks").exists()


def test_each_notebook_leaves_what_the_next_one_needs(chain):
    work, _ = chain
    config = json.loads((work / "models" / "data_config.json").read_text())
    assert config["class_indices"] == {"cats": 0, "dogs": 1}
    assert config["image_size"] == [64, 64] and config["train_dir"] == "data/cats_and_dogs_filtered/train"
    for model in ("untrained.keras", "best.keras", "final.keras"):
        assert (work / "models" / model).stat().st_size > 0
    history = json.loads((work / "results" / "history.json").read_text())
    assert len(history["epochs"]) == 1
    assert history["summary"]["best_val_accuracy"] == max(e["val_accuracy"] for e in history["epochs"])
    assert _counts(history["summary"]["best_val_accuracy"], N_VALIDATION)  # a share of the validation photos
    metrics = json.loads((work / "results" / "metrics.json").read_text())
    _check_report(metrics, N_VALIDATION)
    comparison = json.loads((work / "results" / "tfdata_comparison.json").read_text())
    assert comparison["epochs_compared"] == 1 and set(comparison["val_accuracy"]) == {"ImageDataGenerator", "tf.data"}
    assert all(v > 0 for v in comparison["throughput_images_per_s"].values())
    figures = {p.stem for p in (work / "figures").glob("*.png")}
    assert figures >= {"class_balance", "sample_images", "augmentation_examples", "training_curves",
                       "confusion_matrix", "roc_pr_curves", "mistakes_gallery", "uncertain_gallery",
                       "prediction_grid", "gradcam_examples", "tfdata_augmentation_examples",
                       "tfdata_comparison"} - ({"mistakes_gallery"} if metrics["accuracy"] == 1 else set())


def test_prediction_notebook_outputs_a_label_and_a_probability(chain):
    _, executed = chain
    text = _outputs(executed / "05_prediction.ipynb")
    assert "Prediction: cats" in text or "Prediction: dogs" in text
    assert "Output: 0." in text or "Output: 1.000" in text


def test_executed_notebooks_are_clean(chain):
    """No errors, no stderr, no TensorFlow log lines in any output."""
    _, executed = chain
    for notebook in sorted(executed.glob("*.ipynb")):
        for index, cell in enumerate(json.loads(notebook.read_text())["cells"]):
            for out in cell.get("outputs", []):
                where = f"{notebook.name}, cell {index}"
                assert out["output_type"] != "error", where
                assert out.get("name") != "stderr", f"{where} wrote to stderr: {''.join(out.get('text', ''))[:300]}"
                text = "".join(out.get("text", ""))
                assert "I0000" not in text and "W0000" not in text, where


def test_transfer_notebook_saves_its_model_metrics_and_the_comparison(chain):
    work, executed = chain
    assert (work / "models" / "transfer.keras").stat().st_size > 0
    metrics = json.loads((work / "results" / "transfer_metrics.json").read_text())
    assert metrics["model"] == "transfer.keras"
    _check_report(metrics, N_VALIDATION)
    history = json.loads((work / "results" / "transfer_history.json").read_text())
    assert len(history["epochs"]) == 2 and [e["phase"] for e in history["epochs"]] == ["frozen", "fine-tuning"]
    assert history["summary"]["weights"].startswith("none")  # quick mode: nothing downloaded
    comparison = json.loads((work / "results" / "model_comparison.json").read_text())
    for model in ("cnn", "transfer"):  # the quick chain made the CNN too, so nothing is missing
        assert all(value is not None for value in comparison[model].values()), comparison[model]
    assert comparison["transfer"]["parameters"] > 2_000_000 and comparison["notes"] == []
    assert {"transfer_training_curves", "transfer_gradcam", "model_comparison"} <= {
        p.stem for p in (work / "figures").glob("*.png")}
    text = _outputs(executed / "07_transfer_learning.ipynb")
    assert "Batch normalisation statistics changed by fine-tuning: 0 of 52 layers" in text
    assert "random initial weights" in text


def test_evaluation_and_prediction_notebooks_take_the_transfer_model(chain, tmp_path):
    """Notebooks 04 and 05 with model_file="transfer.keras": same inputs, Grad-CAM on the nested base."""
    work = shutil.copytree(chain[0], tmp_path / "work")  # notebook 04 overwrites results/metrics.json
    for name in ("04_evaluation", "05_prediction"):
        output = tmp_path / f"{name}.ipynb"
        tutorial.run_notebook(tutorial.NOTEBOOK_DIR / f"{name}.ipynb", output,
                              {"workdir": str(work), "model_file": "transfer.keras"})
    metrics = json.loads((work / "results" / "metrics.json").read_text())
    assert metrics["model"] == "transfer.keras" and metrics["n"] == N_VALIDATION
    assert "Prediction: " in _outputs(tmp_path / "05_prediction.ipynb")


def test_the_new_photos_notebook_evaluates_both_models_as_notebook_04_does(chain):
    """Quick mode: the validation photos stand in for photos from elsewhere, so both numbers must agree."""
    work, executed = chain
    other = json.loads((work / "results" / "other_photos.json").read_text())
    assert set(other["models"]) == {"best.keras", "transfer.keras"}
    assert other["counts"] == {"cats": data.MIN_IMAGES["validation"], "dogs": data.MIN_IMAGES["validation"]}
    for name, saved in (("best.keras", "metrics.json"), ("transfer.keras", "transfer_metrics.json")):
        result, validation = other["models"][name], json.loads((work / "results" / saved).read_text())
        assert result["n"] == N_VALIDATION and set(result["recall"]) == {"cats", "dogs"}
        assert result["validation_accuracy"] == pytest.approx(validation["accuracy"])
    # notebook 04 read the same photos with the same saved model and the same code
    assert other["models"]["best.keras"]["accuracy"] == pytest.approx(
        json.loads((work / "results" / "metrics.json").read_text())["accuracy"])
    assert (work / "data" / "other_photos" / "manifest.csv").exists()
    assert {"other_photos_calibration", "other_photos_thresholds"} <= {p.stem for p in (work / "figures").glob("*.png")}
    assert "Saved results/other_photos.json" in _outputs(executed / "08_other_photos.ipynb")
