"""Metrics for a binary classifier, computed with scikit-learn from labels and probabilities.

The notebooks take predictions from a generator built with ``shuffle=False``, so that the
i-th probability belongs to the i-th file; these functions then only need two arrays.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn import metrics as skm


def binary_report(
    y_true: np.ndarray, probability: np.ndarray, class_names: list[str], threshold: float = 0.5
) -> dict:
    """Confusion matrix, per-class precision/recall/F1, accuracy, ROC and precision-recall.

    ``probability`` is the model's output: the probability of class 1 (``class_names[1]``).
    """
    y_true = np.asarray(y_true).astype(int)
    probability = np.asarray(probability, dtype=float)
    if y_true.shape != probability.shape or y_true.ndim != 1:
        raise ValueError(f"labels {y_true.shape} and probabilities {probability.shape} must be 1-D and match")
    y_pred = (probability >= threshold).astype(int)
    matrix = skm.confusion_matrix(y_true, y_pred, labels=[0, 1])
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=[0, 1], zero_division=0
    )
    fpr, tpr, roc_thresholds = skm.roc_curve(y_true, probability)
    pr_precision, pr_recall, pr_thresholds = skm.precision_recall_curve(y_true, probability)
    return {
        "threshold": threshold,
        "n": int(len(y_true)),
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(skm.balanced_accuracy_score(y_true, y_pred)) if len(set(y_true)) > 1 else None,
        "confusion_matrix": matrix.tolist(),
        "confusion_matrix_normalised": (matrix / matrix.sum(axis=1, keepdims=True).clip(min=1)).round(4).tolist(),
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(class_names)
        },
        "roc_auc": float(skm.auc(fpr, tpr)),
        "average_precision": float(skm.average_precision_score(y_true, probability)),
        "roc_curve": {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "thresholds": roc_thresholds.tolist()},
        "pr_curve": {
            "precision": pr_precision.tolist(),
            "recall": pr_recall.tolist(),
            "thresholds": pr_thresholds.tolist(),
        },
    }


def summary(report: dict) -> dict:
    """The report without the long curve arrays: what a README or a table quotes."""
    return {k: v for k, v in report.items() if k not in {"roc_curve", "pr_curve"}}


def prediction_table(
    filenames: list[str], y_true: np.ndarray, probability: np.ndarray, class_names: list[str],
    threshold: float = 0.5,
) -> pd.DataFrame:
    """One row per image: file, true and predicted class, the probabilities, right or wrong."""
    y_true = np.asarray(y_true).astype(int)
    probability = np.asarray(probability, dtype=float)
    y_pred = (probability >= threshold).astype(int)
    names = np.asarray(class_names)
    return pd.DataFrame(
        {
            "file": filenames,
            "true": names[y_true],
            "predicted": names[y_pred],
            f"p({class_names[1]})": probability,
            "confidence": np.where(y_pred == 1, probability, 1 - probability),
            "correct": y_true == y_pred,
        }
    )


def reliability(table: pd.DataFrame, bins: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 0.9, 0.99, 1.0)) -> pd.DataFrame:
    """How often the model is right at each level of confidence: a calibrated model is right 90 % of
    the times it says 90 %. One row per confidence bin: photos, mean confidence, fraction correct."""
    binned = pd.cut(table["confidence"], bins=list(bins), include_lowest=True)
    grouped = table.groupby(binned, observed=False)
    return pd.DataFrame({"photos": grouped.size(), "mean confidence": grouped["confidence"].mean(),
                         "fraction correct": grouped["correct"].mean()})


def most_confident_mistakes(table: pd.DataFrame, n: int = 8) -> pd.DataFrame:
    """The wrong predictions the model was surest of: where to look for label noise or blind spots."""
    return table[~table["correct"]].sort_values("confidence", ascending=False).head(n)


def least_certain(table: pd.DataFrame, n: int = 8) -> pd.DataFrame:
    """The predictions closest to the threshold, right or wrong."""
    return table.sort_values("confidence", ascending=True).head(n)
