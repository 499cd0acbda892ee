// Resampling statistics over per-record outputs: bootstrap confidence intervals (row, patient and
// stratified resampling; the PTB-XL benchmark's variant that rejects draws without a positive; the
// stratified per-label bootstrap of a macro average, each label resampled on its own),
// paired comparisons of two methods on one test set (paired bootstrap of the difference, permutation
// test). Draws come from mt19937_64 with a multiply-shift index map, both fully specified, so a
// (seed, n, options) triple regenerates the same resamples on any machine: two methods compared
// with the same seed are compared on the same resamples. Plain vectors: no LibTorch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

namespace ecgbench {

struct ResampleOptions {
    ResampleOptions(int resamples_ = 1000, std::uint64_t seed_ = 0) : resamples(resamples_), seed(seed_) {}  // NOLINT: implicit {n, seed}
    int resamples;
    std::uint64_t seed;
    /// Patient (or any cluster) of each row; when set, whole patients are drawn with replacement
    /// and contribute all their rows (records of one patient are not independent).
    std::vector<std::int64_t> groups;
    /// Row-major [n, classes] 0/1 labels; when set, a draw in which a class that has a positive in
    /// the data has none is rejected and redrawn (the PTB-XL benchmark's bootstrap; after 100 ×
    /// `resamples` draws, std::runtime_error).
    std::vector<int> require_positive_labels;
    std::int64_t classes = 0;
    /// One binary label per row; when set, positives are drawn from the positives and negatives
    /// from the negatives, so each resample keeps the class balance (per-label bootstrap).
    std::vector<int> stratify_by;
};

/// A reproducible set of bootstrap resamples of n rows. Resamples are regenerated on each visit
/// rather than stored (1000 × n indices would not fit for beat-level test sets); a visit sees the
/// same rows in the same order every time.
class Resamples {
public:
    Resamples(std::size_t n, ResampleOptions options);
    std::size_t rows() const { return n_; }
    int count() const { return options_.resamples; }
    /// Calls `visit` with the rows of each accepted resample, in order; returns the rejected draws.
    std::int64_t for_each(const std::function<void(const std::vector<std::size_t>& rows)>& visit) const;

private:
    std::size_t n_;
    ResampleOptions options_;
};

/// A statistic of a subset of rows (e.g. macro AUROC of those rows); NaN = undefined on that subset.
using Statistic = std::function<double(const std::vector<std::size_t>& rows)>;

/// A metric of a row-major [n, classes] score/label table (e.g. macro_auroc below).
using TableMetric = std::function<double(const std::vector<double>& scores, const std::vector<int>& labels, std::int64_t classes)>;

/// Macro AUROC (mean of the defined per-class AUROCs), as a TableMetric.
double macro_auroc(const std::vector<double>& scores, const std::vector<int>& labels, std::int64_t classes);

/// `metric` of the rows a resample lists, gathered from the full table.
Statistic table_statistic(const std::vector<double>& scores, const std::vector<int>& labels, std::int64_t classes,
                          TableMetric metric);

/// A point estimate with a percentile interval; `used` = resamples on which the statistic was defined.
struct Interval {
    double estimate = 0, low = 0, high = 0;
    std::int64_t used = 0;
};

/// Percentile bootstrap interval at `level` (0.95: the 2.5th and 97.5th percentiles, numpy's linear
/// interpolation); `estimate` is the statistic on all n rows.
Interval percentile_interval(const Statistic& statistic, const Resamples& resamples, double level = 0.95);

/// A metric of one binary label (e.g. ecgbench::auroc): the scores and 0/1 labels of the rows drawn.
using BinaryMetric = std::function<double(const std::vector<double>& scores, const std::vector<int>& labels)>;

/// The resamples of column `label` of a row-major [n, classes] 0/1 table in the stratified per-label
/// bootstrap: that column's positives drawn from its positives, its negatives from its negatives
/// (`stratify_by`), seeded with SplitMix64(options.seed + (label + 1) · 0x9E3779B97F4A7C15) so that
/// labels draw independently. `groups` and `require_positive_labels` must be empty
/// (std::invalid_argument): stratification already keeps every label's positives.
Resamples label_resamples(const std::vector<int>& labels, std::int64_t classes, std::int64_t label, const ResampleOptions& options);

/// Stratified per-label bootstrap interval of the macro average of `metric`: each class is resampled
/// on its own (label_resamples), so every resample keeps each class's prevalence and never lacks a
/// positive the data has; resample r's value is the mean over classes of `metric` on each class's
/// r-th resample (classes where it is NaN left out). `estimate` is that mean on all rows.
Interval stratified_per_label_interval(const std::vector<double>& scores, const std::vector<int>& labels, std::int64_t classes,
                                       const BinaryMetric& metric, const ResampleOptions& options, double level = 0.95);
/// The same for several runs scored on the same records (seeds of one method, each [n, classes] in
/// one record order): a class's value on a resample is the mean over runs of `metric` on that
/// class's resample, so every run sees the same resampled records.
Interval stratified_per_label_interval(const std::vector<std::vector<double>>& runs, const std::vector<int>& labels,
                                       std::int64_t classes, const BinaryMetric& metric, const ResampleOptions& options,
                                       double level = 0.95);

/// Two methods on one test set: the difference a − b on all rows, its paired-bootstrap interval
/// (both evaluated on each resample), the two-sided bootstrap p-value 2·min(P(Δ* ≤ 0), P(Δ* ≥ 0)),
/// and `used` resamples where both were defined.
struct PairedComparison {
    Interval difference;
    double p_bootstrap = 0;
};
PairedComparison paired_bootstrap(const Statistic& a, const Statistic& b, const Resamples& resamples, double level = 0.95);

/// The paired comparison under the stratified per-label bootstrap: both methods are scored on each
/// class's same resamples (label_resamples), Δ on resample r = macro(a) − macro(b) there (the mean of
/// `metric` over the classes where it is defined); interval and two-sided p as paired_bootstrap.
PairedComparison paired_stratified_per_label(const std::vector<double>& scores_a, const std::vector<double>& scores_b,
                                             const std::vector<int>& labels, std::int64_t classes, const BinaryMetric& metric,
                                             const ResampleOptions& options, double level = 0.95);

/// Paired permutation test of metric(a) − metric(b): under the null the two methods' outputs for a
/// record are exchangeable, so each permutation swaps each row's scores between a and b with
/// probability ½ (whole patients when `groups` is given). p = (1 + #{|Δ*| ≥ |Δ|}) / (1 + permutations).
double permutation_p_value(const std::vector<double>& scores_a, const std::vector<double>& scores_b,
                           const std::vector<int>& labels, std::int64_t classes, const TableMetric& metric,
                           int permutations, std::uint64_t seed, const std::vector<std::int64_t>& groups = {});

}  // namespace ecgbench
