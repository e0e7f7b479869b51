"""Evaluation metrics on a hand-checked case, and on the tiny model's predictions."""

import numpy as np
import pytest

from catsdogs import evaluation

CLASSES = ["cats", "dogs"]
Y_TRUE = np.array([0, 0, 1, 1, 1])
PROB = np.array([0.1, 0.65, 0.7, 0.2, 0.9])  # predicted at 0.5: 0, 1, 1, 0, 1


def test_confusion_matrix_and_scores_match_the_hand_count():
    report = evaluation.binary_report(Y_TRUE, PROB, CLASSES)
    # rows = true (cats, dogs), columns = predicted
    assert report["confusion_matrix"] == [[1, 1], [1, 2]]
    assert report["confusion_matrix_normalised"] == [[0.5, 0.5], [0.3333, 0.6667]]
    assert report["accuracy"] == pytest.approx(3 / 5)
    assert report["per_class"]["dogs"] == pytest.approx({"precision": 2 / 3, "recall": 2 / 3, "f1": 2 / 3, "support": 3})
    assert report["per_class"]["cats"] == pytest.approx({"precision": 1 / 2, "recall": 1 / 2, "f1": 1 / 2, "support": 2})
    # AUC = share of (cat, dog) pairs where the dog scores higher: 5 of 6
    assert report["roc_auc"] == pytest.approx(5 / 6)


def test_the_threshold_moves_predictions():
    strict = evaluation.binary_report(Y_TRUE, PROB, CLASSES, threshold=0.8)
    assert strict["confusion_matrix"] == [[2, 0], [2, 1]]
    assert strict["per_class"]["dogs"]["precision"] == 1.0
    assert strict["roc_auc"] == evaluation.binary_report(Y_TRUE, PROB, CLASSES)["roc_auc"]


def test_curves_have_matching_shapes_and_end_points():
    report = evaluation.binary_report(Y_TRUE, PROB, CLASSES)
    roc, pr = report["roc_curve"], report["pr_curve"]
    assert len(roc["fpr"]) == len(roc["tpr"]) == len(roc["thresholds"])
    assert (roc["fpr"][0], roc["tpr"][0]) == (0.0, 0.0) and (roc["fpr"][-1], roc["tpr"][-1]) == (1.0, 1.0)
    assert np.all(np.diff(roc["fpr"]) >= 0)
    assert len(pr["precision"]) == len(pr["recall"]) == len(pr["thresholds"]) + 1
    assert "roc_curve" not in evaluation.summary(report)


def test_mismatched_inputs_are_refused():
    with pytest.raises(ValueError, match="must be 1-D and match"):
        evaluation.binary_report(Y_TRUE, PROB[:3], CLASSES)


def test_mistakes_and_uncertain_predictions_are_ranked():
    table = evaluation.prediction_table([f"f{i}.jpg" for i in range(5)], Y_TRUE, PROB, CLASSES)
    assert list(table["predicted"]) == ["cats", "dogs", "dogs", "cats", "dogs"]
    mistakes = evaluation.most_confident_mistakes(table, 5)
    # f3: "cats" said for a dog with confidence 0.8; f1: "dogs" said for a cat with 0.65
    assert list(mistakes["file"]) == ["f3.jpg", "f1.jpg"]
    assert list(mistakes["confidence"]) == pytest.approx([0.8, 0.65])
    assert list(evaluation.least_certain(table, 2)["file"]) == ["f1.jpg", "f2.jpg"]


def test_report_on_the_tiny_model_is_perfect(tiny_workspace):
    """The tiny CNN separates its warm discs from cool squares with a wide margin: every photo right."""
    from catsdogs import artifacts
    from catsdogs.images import load_for_model

    model = artifacts.load_model(tiny_workspace.models / "best.keras")
    files = sorted((tiny_workspace.root / "photos").iterdir())
    y_true = np.array([0 if f.name.startswith("cat") else 1 for f in files])
    batch = np.stack([load_for_model(f, (48, 48)) for f in files])
    probability = model.predict(batch, verbose=0).reshape(-1)
    report = evaluation.binary_report(y_true, probability, CLASSES)
    assert report["roc_auc"] == 1.0 and report["accuracy"] == 1.0
    assert report["confusion_matrix"] == [[2, 0], [0, 2]]
