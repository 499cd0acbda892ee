#!/usr/bin/python3
"""Writes tests/fixtures/challenge2021_score.txt: PhysioNet/CinC Challenge 2021 scores computed by
the organisers' own evaluate_model.py on seeded random labels and outputs, which tests/unit/api/
test_challenge_score.cpp compares with ecgbench's challenge_score to 1e-9. Needs Debian's
python3-numpy and a copy of https://github.com/physionetchallenges/evaluation-2021 (the organisers'
code is imported from it, never copied here):

    git clone https://github.com/physionetchallenges/evaluation-2021 /tmp/evaluation-2021
    /usr/bin/python3 tools/challenge_fixtures.py /tmp/evaluation-2021 > tests/fixtures/challenge2021_score.txt

Format: a case starts with `case NAME challenge ROWS CLASSES`, then one line per vector (`classes`
holds class names, an equivalent pair as "a|b"; `weights` the row-major matrix; `labels` and
`outputs` the row-major 0/1 tables; `confusion` the organisers' modified confusion matrix) and one per
expected value (`NAME VALUE`), and ends with `end`. Numbers are printed with repr (17 significant
digits), so the file carries the organisers' doubles exactly.
"""
import os
import subprocess
import sys

import numpy as np


def vector(name, values):
    print(name, " ".join(repr(float(v)) if isinstance(v, (float, np.floating)) else str(int(v)) for v in np.ravel(values)))


def value(name, v):
    print(name, repr(float(v)))


def case(evaluation, name, classes, weights, labels, outputs):
    """Scores with the organisers' functions; observed/correct/inactive are the three terms of their
    compute_challenge_metric, each np.nansum(weights * compute_modified_confusion_matrix(...))."""
    sinus = {"426783006"}
    inactive = np.zeros_like(outputs)
    inactive[:, classes.index(sinus)] = 1

    def term(o):
        return np.nansum(weights * evaluation.compute_modified_confusion_matrix(labels, o))

    print("case", name, "challenge", labels.shape[0], labels.shape[1])
    print("classes", " ".join("|".join(sorted(c)) for c in classes))
    vector("weights", weights)
    vector("labels", labels)
    vector("outputs", outputs)
    vector("confusion", evaluation.compute_modified_confusion_matrix(labels, outputs))
    value("observed", term(outputs))
    value("correct", term(labels))
    value("inactive", term(inactive))
    value("normalized", evaluation.compute_challenge_metric(weights, labels, outputs, classes, sinus))
    print("end")


def noisy_copy(rng, labels, flip):
    """Outputs that mostly agree with the labels: each entry flipped with probability `flip`."""
    return np.logical_xor(labels, rng.random_sample(labels.shape) < flip)


def main():
    directory = sys.argv[1]
    sys.path.insert(0, directory)
    os.chdir(directory)  # load_weights reads 'weights.csv' relative to the checkout
    import evaluate_model as evaluation

    commit = subprocess.run(["git", "-C", directory, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"# physionetchallenges/evaluation-2021 {commit or '(commit unknown)'}, numpy {np.__version__}; "
          "regenerate with: /usr/bin/python3 tools/challenge_fixtures.py EVALUATION_2021_CHECKOUT > tests/fixtures/challenge2021_score.txt")
    rng = np.random.RandomState(20261202)
    classes, weights = evaluation.load_weights("weights.csv")
    k = len(classes)

    # Multi-label records (some with no scored class), outputs a noisy copy.
    labels = rng.random_sample((60, k)) < 0.08
    labels[rng.random_sample(60) < 0.3, classes.index({"426783006"})] = True
    case(evaluation, "weights2021_multilabel", classes, weights, labels, noisy_copy(rng, labels, 0.06))

    # One class per record, outputs often empty or several classes.
    labels = np.zeros((40, k), dtype=bool)
    labels[np.arange(40), rng.randint(0, k, 40)] = True
    outputs = (rng.random_sample((40, k)) < 0.04) | (labels & (rng.random_sample((40, k)) < 0.5))
    case(evaluation, "weights2021_single_label", classes, weights, labels, outputs)

    # Three classes, sinus rhythm in the middle, random non-symmetric weights with a unit diagonal.
    small = [{"164889003"}, {"426783006"}, {"713427006", "59118001"}]
    w = rng.uniform(0, 1, (3, 3))
    np.fill_diagonal(w, 1.0)
    labels = rng.random_sample((25, 3)) < 0.4
    case(evaluation, "small_weights", small, w, labels, noisy_copy(rng, labels, 0.25))


if __name__ == "__main__":
    main()
