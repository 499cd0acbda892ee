// Evaluation metrics, equal to scikit-learn's definitions (tests check parity on hand-made cases
// and on fixtures computed with Debian's python3-sklearn: tools/sklearn_fixtures.py). Plain vectors
// so the store/report side can use them without LibTorch. Tables are row-major [n, classes].
// The PhysioNet/CinC Challenge 2021 score equals the organisers' evaluate_model.py instead
// (tools/challenge_fixtures.py runs their code for the parity fixture).
//
// Degenerate inputs are undefined, never a made-up value: AUROC and average precision of a class
// with one label value in the data are NaN (not 0.5), averages skip them and report how many.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace ecgbench {

/// Area under the ROC curve of binary `labels` (0/1) given `scores`; ties get the average rank
/// (sklearn.metrics.roc_auc_score). NaN when only one class is present.
double auroc(const std::vector<double>& scores, const std::vector<int>& labels);

/// Per-class AUROC for row-major scores/labels of shape [n, classes]; NaN for one-class columns.
std::vector<double> per_class_auroc(const std::vector<double>& scores, const std::vector<int>& labels,
                                    std::int64_t classes);

/// Mean of the non-NaN entries (sklearn's macro average over evaluable classes); NaN if none.
double nanmean(const std::vector<double>& values);

/// Percentile bootstrap 95 % CI of macro AUROC: `resamples` draws of n rows with replacement,
/// seeded. Returns {low, high}; draws where no class is evaluable are skipped.
std::pair<double, double> bootstrap_macro_auroc_ci(const std::vector<double>& scores, const std::vector<int>& labels,
                                                    std::int64_t classes, int resamples, std::uint64_t seed);

/// Average precision of binary `labels` given `scores` (sklearn.metrics.average_precision_score:
/// Σ_k (R_k − R_{k−1}) P_k over the distinct score thresholds, high to low). NaN without a positive.
double average_precision(const std::vector<double>& scores, const std::vector<int>& labels);

/// A metric computed per class of a multi-label table and averaged three ways, as sklearn's
/// `average=` options: macro (unweighted mean over the classes where it is defined), weighted (by
/// each defined class's number of positives), micro (the table flattened into one binary problem).
struct AveragedMetric {
    double macro = 0;
    double weighted = 0;
    double micro = 0;
    std::vector<double> per_class;      ///< NaN where undefined
    std::int64_t undefined_classes = 0; ///< classes left out of macro/weighted (one label value only)
};

/// AUROC of a [n, classes] table, macro/weighted/micro (sklearn roc_auc_score, multi-label).
AveragedMetric averaged_auroc(const std::vector<double>& scores, const std::vector<int>& labels, std::int64_t classes);
/// Average precision of a [n, classes] table, macro/weighted/micro (sklearn average_precision_score).
AveragedMetric averaged_average_precision(const std::vector<double>& scores, const std::vector<int>& labels,
                                          std::int64_t classes);

/// Confusion counts of binary decisions `score >= threshold` against 0/1 labels, and the rates
/// computed from them (NaN when a denominator is 0, where sklearn warns and returns 0).
struct BinaryCounts {
    std::int64_t true_positives = 0, false_positives = 0, true_negatives = 0, false_negatives = 0;
    double sensitivity() const;        ///< recall, TP / (TP + FN)
    double specificity() const;        ///< TN / (TN + FP)
    double precision() const;          ///< PPV, TP / (TP + FP)
    double f1() const;                 ///< 2TP / (2TP + FP + FN)
    double accuracy() const;
    double balanced_accuracy() const;  ///< (sensitivity + specificity) / 2
};
BinaryCounts counts_at_threshold(const std::vector<double>& scores, const std::vector<int>& labels, double threshold);

/// The threshold (one of the scores) maximising F1 on these data, the smallest on ties: choose it on
/// validation and apply it to test. NaN without a positive.
double best_f1_threshold(const std::vector<double>& scores, const std::vector<int>& labels);

/// Expected calibration error of probabilities in [0, 1] against 0/1 outcomes: `bins` equal-width
/// bins (the last closed), Σ_b |B_b|/n · |mean outcome − mean probability|.
double expected_calibration_error(const std::vector<double>& probabilities, const std::vector<int>& labels, int bins = 10);

/// Multi-class balanced accuracy of predicted vs true class indices in [0, classes): the mean recall
/// over the classes present in `truth` (sklearn balanced_accuracy_score).
double balanced_accuracy(const std::vector<int>& predicted, const std::vector<int>& truth, int classes);

/// Multi-class (single-label) confusion matrix of predicted vs true class indices in [0, classes),
/// and the per-class rates the arrhythmia literature reports (AAMI EC57, de Chazal et al. 2004):
/// sensitivity Se = TP / (TP + FN), positive predictive value +P = TP / (TP + FP), F1. A class absent
/// from `truth` is undefined (NaN Se and F1, counted in absent_classes), never 0; +P is NaN for a
/// class never predicted. macro_f1 averages F1 over the classes present in `truth` (sklearn's
/// f1_score(average="macro", labels=<classes present in y_true>)).
struct ConfusionMatrix {
    std::int64_t classes = 0;
    std::vector<std::int64_t> counts;  ///< row-major [truth, predicted]

    std::int64_t count(std::int64_t truth, std::int64_t predicted) const;
    std::int64_t support(std::int64_t k) const;    ///< rows of class k in the truth
    std::int64_t predicted(std::int64_t k) const;  ///< rows predicted as class k
    std::int64_t total() const;
    double sensitivity(std::int64_t k) const;
    double precision(std::int64_t k) const;
    double f1(std::int64_t k) const;
    double accuracy() const;                       ///< NaN without rows
    double macro_f1() const;
    std::int64_t absent_classes() const;           ///< classes with no row in the truth
};
ConfusionMatrix confusion_matrix(const std::vector<int>& predicted, const std::vector<int>& truth, int classes);

/// Regression metrics of predictions against targets (sklearn mean_absolute_error,
/// root of mean_squared_error, r2_score; Pearson's r as scipy.stats.pearsonr). R² and r are NaN for a
/// constant target (sklearn's force_finite would say 0 or 1), r also for constant predictions.
struct RegressionMetrics {
    double mae = 0, rmse = 0, r2 = 0, pearson_r = 0;
};
RegressionMetrics regression_metrics(const std::vector<double>& predictions, const std::vector<double>& targets);

/// The PhysioNet/CinC Challenge 2021 scoring weights: the scored classes (SNOMED CT codes; an
/// equivalent pair "a|b" is one class) and the credit for each (true class, output class) pair.
struct ChallengeWeights {
    std::vector<std::string> classes;  ///< column and row names, in the file's order
    std::vector<double> weights;       ///< row-major [classes, classes]: row = label class, column = output class
};

/// Parses the organisers' weights.csv format: a header row ",c1,...,ck", then one row
/// "ci,w_i1,...,w_ik" per class, rows named as the columns in the same order; blank lines and lines
/// starting with '#' are skipped. std::invalid_argument naming `source`, the line and the cell.
ChallengeWeights parse_challenge_weights(std::istream& in, const std::string& source);
/// parse_challenge_weights of the file at `path`.
ChallengeWeights read_challenge_weights(const std::string& path);
/// The published 2021 matrix over the 26 scored classes (harness/data/challenge2021_weights.csv,
/// compiled in).
const ChallengeWeights& challenge2021_weights();

/// The class the Challenge's "inactive" reference classifier outputs for every record.
inline constexpr const char* kChallengeSinusRhythm = "426783006";

/// The Challenge's multi-label confusion matrix of 0/1 `labels` and `outputs`, both row-major
/// [n, classes]: A[j, k] sums, over records with class j true and class k output, 1 / (the number
/// of classes true or output in that record). Row-major [classes, classes].
std::vector<double> challenge_confusion_matrix(const std::vector<int>& labels, const std::vector<int>& outputs,
                                               std::int64_t classes);

/// The Challenge 2021 score and its parts; each part is Σ weights ⊙ A (challenge_confusion_matrix).
struct ChallengeScore {
    double observed = 0;    ///< of the outputs
    double correct = 0;     ///< of outputs equal to the labels
    double inactive = 0;    ///< of outputs that are sinus rhythm alone, on every record
    /// (observed − inactive) / (correct − inactive); NaN when correct == inactive (the organisers say 0).
    double normalized = 0;
};

/// Scores 0/1 `outputs` against 0/1 `labels`, both row-major [n, classes.size()], whose columns are
/// named by `classes`. Columns are matched to `weights.classes` as the organisers match diagnoses:
/// a column counts for the weights class sharing one of its codes ("164909002" and
/// "164909002|733534002" both count for "733534002|164909002"; several columns of one class are
/// OR-ed), a column matching none is not scored, a weights class no column matches is never true
/// nor output. std::invalid_argument on shape mismatch or when sinus rhythm is not a weights class.
ChallengeScore challenge_score(const std::vector<int>& labels, const std::vector<int>& outputs,
                               const std::vector<std::string>& classes, const ChallengeWeights& weights);

}  // namespace ecgbench
