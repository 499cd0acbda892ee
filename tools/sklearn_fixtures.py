#!/usr/bin/python3
"""Writes tests/fixtures/sklearn_metrics.txt: metric values computed by scikit-learn (and scipy for
Pearson's r) on seeded random inputs, with and without tied scores, which tests/unit/api/
test_metrics_sklearn.cpp compares with ecgbench's metrics to 1e-9. Needs Debian's python3-sklearn.

    /usr/bin/python3 tools/sklearn_fixtures.py > tests/fixtures/sklearn_metrics.txt

Format: a case starts with `case NAME KIND ROWS CLASSES`, then one line per input vector and one
per expected value (`NAME VALUE`), and ends with `end`; every number is printed with repr (17
significant digits), so the file carries sklearn's doubles exactly.
"""
import numpy as np
import scipy
import scipy.stats
import sklearn
from sklearn import metrics


def vector(name, values):
    print(name, " ".join(repr(float(v)) if isinstance(v, (float, np.floating)) else str(int(v)) for v in np.ravel(values)))


def value(name, v):
    print(name, repr(float(v)))


def multilabel(name, rng, n, classes, decimals=None):
    while True:
        y = (rng.random_sample((n, classes)) < 0.3).astype(int)
        if (y.sum(0) > 0).all() and (y.sum(0) < n).all():
            break
    s = rng.random_sample((n, classes)) + 0.4 * y  # informative, not separable
    if decimals is not None:
        s = np.round(s, decimals)  # many tied scores
    print("case", name, "multilabel", n, classes)
    vector("scores", s)
    vector("labels", y)
    for average in ("macro", "weighted", "micro"):
        value("auroc_" + average, metrics.roc_auc_score(y, s, average=average))
        value("ap_" + average, metrics.average_precision_score(y, s, average=average))
    vector("auroc_per_class", metrics.roc_auc_score(y, s, average=None))
    vector("ap_per_class", metrics.average_precision_score(y, s, average=None))
    print("end")


def binary(name, rng, n, levels=None):
    y = (rng.random_sample(n) < 0.4).astype(int)
    s = np.clip(rng.normal(0.5, 0.25, n) + 0.2 * y, 0, 1)
    if levels is not None:
        s = np.round(s * levels) / levels
    predicted = (s >= 0.5).astype(int)
    print("case", name, "binary", n, 1)
    vector("scores", s)
    vector("labels", y)
    value("auroc", metrics.roc_auc_score(y, s))
    value("ap", metrics.average_precision_score(y, s))
    value("f1_at_0.5", metrics.f1_score(y, predicted))
    value("sensitivity_at_0.5", metrics.recall_score(y, predicted))
    value("specificity_at_0.5", metrics.recall_score(y, predicted, pos_label=0))
    value("precision_at_0.5", metrics.precision_score(y, predicted))
    value("accuracy_at_0.5", metrics.accuracy_score(y, predicted))
    value("balanced_accuracy_at_0.5", metrics.balanced_accuracy_score(y, predicted))
    print("end")


def multiclass(name, rng, n, classes):
    truth = rng.randint(0, classes, n)
    predicted = np.where(rng.random_sample(n) < 0.6, truth, rng.randint(0, classes, n))
    print("case", name, "multiclass", n, classes)
    vector("predicted", predicted)
    vector("truth", truth)
    value("balanced_accuracy", metrics.balanced_accuracy_score(truth, predicted))
    print("end")


def regression(name, rng, n):
    target = rng.normal(60, 12, n)
    prediction = 0.7 * target + rng.normal(15, 8, n)
    print("case", name, "regression", n, 0)
    vector("predictions", prediction)
    vector("targets", target)
    value("mae", metrics.mean_absolute_error(target, prediction))
    value("rmse", np.sqrt(metrics.mean_squared_error(target, prediction)))
    value("r2", metrics.r2_score(target, prediction))
    value("pearson_r", scipy.stats.pearsonr(prediction, target)[0])
    print("end")


def main():
    print(f"# scikit-learn {sklearn.__version__}, scipy {scipy.__version__}, numpy {np.__version__}; "
          "regenerate with: /usr/bin/python3 tools/sklearn_fixtures.py > tests/fixtures/sklearn_metrics.txt")
    rng = np.random.RandomState(20261201)
    multilabel("multilabel_random", rng, 60, 4)
    multilabel("multilabel_tied", rng, 80, 3, decimals=1)
    multilabel("multilabel_large", rng, 500, 5)
    binary("binary_random", rng, 101)
    binary("binary_tied", rng, 64, levels=4)
    multiclass("multiclass_random", rng, 50, 4)
    regression("regression_random", rng, 40)


if __name__ == "__main__":
    main()
