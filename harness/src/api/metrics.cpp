// Classification and regression metrics matching scikit-learn. AUROC is computed as the
// Mann-Whitney U statistic with average ranks for tied scores, which is algebraically identical to
// the trapezoidal area under the ROC curve sklearn builds from distinct thresholds (a block of tied
// scores becomes one diagonal ROC segment, worth half a "win" per positive/negative pair). Average
// precision walks the same distinct thresholds from the top, as sklearn's precision_recall_curve.
#include "ecgbench/metrics.hpp"

#include "ecgbench/resampling.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>

namespace ecgbench {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// AUROC of n (score, label) pairs; `order` is scratch space reused across calls to avoid
/// reallocating in the bootstrap loop.
double auroc_of(const double* scores, const int* labels, std::size_t n, std::vector<std::size_t>& order) {
    std::size_t positives = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (labels[i] != 0 && labels[i] != 1) {
            throw std::invalid_argument("auroc: labels must be 0 or 1, got " + std::to_string(labels[i]));
        }
        // sklearn rejects NaN input; silently ranking it would give an arbitrary number.
        if (std::isnan(scores[i])) throw std::invalid_argument("auroc: scores contain NaN");
        positives += static_cast<std::size_t>(labels[i]);
    }
    const std::size_t negatives = n - positives;
    if (positives == 0 || negatives == 0) return kNaN;

    order.resize(n);
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(), [scores](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });

    // Sum of the (1-based, tie-averaged) ranks of the positives.
    double positive_rank_sum = 0;
    std::size_t start = 0;
    while (start < n) {
        std::size_t end = start + 1;
        while (end < n && scores[order[end]] == scores[order[start]]) ++end;
        const double average_rank = 0.5 * static_cast<double>(start + 1 + end);  // mean of start+1 … end
        std::size_t tied_positives = 0;
        for (std::size_t k = start; k < end; ++k) tied_positives += static_cast<std::size_t>(labels[order[k]]);
        positive_rank_sum += average_rank * static_cast<double>(tied_positives);
        start = end;
    }
    const double p = static_cast<double>(positives);
    const double u = positive_rank_sum - p * (p + 1) / 2;
    return u / (p * static_cast<double>(negatives));
}

void check_shape(const std::vector<double>& scores, const std::vector<int>& labels, std::int64_t classes,
                 const char* who) {
    if (classes < 0) throw std::invalid_argument(std::string(who) + ": negative class count");
    if (scores.size() != labels.size()) {
        throw std::invalid_argument(std::string(who) + ": scores has " + std::to_string(scores.size()) +
                                    " entries but labels has " + std::to_string(labels.size()));
    }
    if (classes == 0) {
        if (!scores.empty()) throw std::invalid_argument(std::string(who) + ": data given for 0 classes");
        return;
    }
    if (scores.size() % static_cast<std::size_t>(classes) != 0) {
        throw std::invalid_argument(std::string(who) + ": " + std::to_string(scores.size()) +
                                    " entries is not a multiple of " + std::to_string(classes) + " classes");
    }
}

/// Per-class AUROC of a row-major [n, classes] table, columns gathered into scratch buffers.
std::vector<double> per_class(const double* scores, const int* labels, std::size_t n, std::size_t classes,
                              std::vector<double>& column_scores, std::vector<int>& column_labels,
                              std::vector<std::size_t>& order) {
    std::vector<double> result(classes, kNaN);
    column_scores.resize(n);
    column_labels.resize(n);
    for (std::size_t c = 0; c < classes; ++c) {
        for (std::size_t i = 0; i < n; ++i) {
            column_scores[i] = scores[i * classes + c];
            column_labels[i] = labels[i * classes + c];
        }
        result[c] = auroc_of(column_scores.data(), column_labels.data(), n, order);
    }
    return result;
}

void check_binary(const std::vector<double>& scores, const std::vector<int>& labels, const char* who) {
    if (scores.size() != labels.size()) {
        throw std::invalid_argument(std::string(who) + ": scores has " + std::to_string(scores.size()) +
                                    " entries but labels has " + std::to_string(labels.size()));
    }
    for (std::size_t i = 0; i < scores.size(); ++i) {
        if (labels[i] != 0 && labels[i] != 1) {
            throw std::invalid_argument(std::string(who) + ": labels must be 0 or 1, got " + std::to_string(labels[i]));
        }
        if (std::isnan(scores[i])) throw std::invalid_argument(std::string(who) + ": scores contain NaN");
    }
}

/// Row indices sorted by descending score (stable, so equal scores keep their order).
std::vector<std::size_t> descending(const std::vector<double>& scores) {
    std::vector<std::size_t> order(scores.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
    return order;
}

/// Column `c` of a row-major table.
template <typename T>
std::vector<T> column(const std::vector<T>& table, std::size_t classes, std::size_t c) {
    std::vector<T> out(table.size() / classes);
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = table[i * classes + c];
    return out;
}

template <typename BinaryMetric>
AveragedMetric averaged(const std::vector<double>& scores, const std::vector<int>& labels, std::int64_t classes,
                        const char* who, BinaryMetric metric) {
    check_shape(scores, labels, classes, who);
    AveragedMetric result;
    const auto c = static_cast<std::size_t>(classes);
    double weighted_sum = 0, weight_total = 0;
    for (std::size_t k = 0; k < c; ++k) {
        const std::vector<int> truth = column(labels, c, k);
        const double value = metric(column(scores, c, k), truth);
        result.per_class.push_back(value);
        if (std::isnan(value)) {
            ++result.undefined_classes;
            continue;
        }
        const double positives = std::accumulate(truth.begin(), truth.end(), 0.0);
        weighted_sum += positives * value;
        weight_total += positives;
    }
    result.macro = nanmean(result.per_class);
    result.weighted = weight_total > 0 ? weighted_sum / weight_total : kNaN;
    result.micro = metric(scores, labels);
    return result;
}

double ratio(double numerator, double denominator) { return denominator > 0 ? numerator / denominator : kNaN; }

}  // namespace

double auroc(const std::vector<double>& scores, const std::vector<int>& labels) {
    if (scores.size() != labels.size()) {
        throw std::invalid_argument("auroc: scores has " + std::to_string(scores.size()) + " entries but labels has " +
                                    std::to_string(labels.size()));
    }
    std::vector<std::size_t> order;
    return auroc_of(scores.data(), labels.data(), scores.size(), order);
}

std::vector<double> per_class_auroc(const std::vector<double>& scores, const std::vector<int>& labels,
                                    std::int64_t classes) {
    check_shape(scores, labels, classes, "per_class_auroc");
    if (classes == 0) return {};
    const auto c = static_cast<std::size_t>(classes);
    std::vector<double> column_scores;
    std::vector<int> column_labels;
    std::vector<std::size_t> order;
    return per_class(scores.data(), labels.data(), scores.size() / c, c, column_scores, column_labels, order);
}

double nanmean(const std::vector<double>& values) {
    double sum = 0;
    std::size_t count = 0;
    for (double v : values) {
        if (std::isnan(v)) continue;
        sum += v;
        ++count;
    }
    return count == 0 ? kNaN : sum / static_cast<double>(count);
}

std::pair<double, double> bootstrap_macro_auroc_ci(const std::vector<double>& scores, const std::vector<int>& labels,
                                                    std::int64_t classes, int resamples, std::uint64_t seed) {
    check_shape(scores, labels, classes, "bootstrap_macro_auroc_ci");
    if (classes == 0 || scores.empty() || resamples <= 0) return {kNaN, kNaN};
    const Resamples draws(scores.size() / static_cast<std::size_t>(classes), {resamples, seed});
    const Interval interval = percentile_interval(table_statistic(scores, labels, classes, macro_auroc), draws, 0.95);
    return {interval.low, interval.high};
}

double average_precision(const std::vector<double>& scores, const std::vector<int>& labels) {
    check_binary(scores, labels, "average_precision");
    const double positives = std::accumulate(labels.begin(), labels.end(), 0.0);
    if (positives == 0) return kNaN;
    const std::vector<std::size_t> order = descending(scores);
    double true_positives = 0, predicted = 0, previous_recall = 0, ap = 0;
    for (std::size_t start = 0; start < order.size();) {
        std::size_t end = start;
        for (; end < order.size() && scores[order[end]] == scores[order[start]]; ++end) {
            true_positives += labels[order[end]];
            predicted += 1;
        }
        const double recall = true_positives / positives;
        ap += (recall - previous_recall) * (true_positives / predicted);
        previous_recall = recall;
        start = end;
    }
    return ap;
}

AveragedMetric averaged_auroc(const std::vector<double>& scores, const std::vector<int>& labels, std::int64_t classes) {
    return averaged(scores, labels, classes, "averaged_auroc", [](const auto& s, const auto& l) { return auroc(s, l); });
}

AveragedMetric averaged_average_precision(const std::vector<double>& scores, const std::vector<int>& labels,
                                          std::int64_t classes) {
    return averaged(scores, labels, classes, "averaged_average_precision",
                    [](const auto& s, const auto& l) { return average_precision(s, l); });
}

double BinaryCounts::sensitivity() const {
    return ratio(static_cast<double>(true_positives), static_cast<double>(true_positives + false_negatives));
}
double BinaryCounts::specificity() const {
    return ratio(static_cast<double>(true_negatives), static_cast<double>(true_negatives + false_positives));
}
double BinaryCounts::precision() const {
    return ratio(static_cast<double>(true_positives), static_cast<double>(true_positives + false_positives));
}
double BinaryCounts::f1() const {
    return ratio(2.0 * static_cast<double>(true_positives),
                 static_cast<double>(2 * true_positives + false_positives + false_negatives));
}
double BinaryCounts::accuracy() const {
    return ratio(static_cast<double>(true_positives + true_negatives),
                 static_cast<double>(true_positives + true_negatives + false_positives + false_negatives));
}
double BinaryCounts::balanced_accuracy() const { return (sensitivity() + specificity()) / 2; }

BinaryCounts counts_at_threshold(const std::vector<double>& scores, const std::vector<int>& labels, double threshold) {
    check_binary(scores, labels, "counts_at_threshold");
    BinaryCounts counts;
    for (std::size_t i = 0; i < scores.size(); ++i) {
        const bool predicted = scores[i] >= threshold;
        if (labels[i] == 1) {
            ++(predicted ? counts.true_positives : counts.false_negatives);
        } else {
            ++(predicted ? counts.false_positives : counts.true_negatives);
        }
    }
    return counts;
}

double best_f1_threshold(const std::vector<double>& scores, const std::vector<int>& labels) {
    check_binary(scores, labels, "best_f1_threshold");
    const double positives = std::accumulate(labels.begin(), labels.end(), 0.0);
    if (positives == 0) return kNaN;
    const std::vector<std::size_t> order = descending(scores);
    double true_positives = 0, predicted = 0, best_f1 = -1, best = kNaN;
    for (std::size_t start = 0; start < order.size();) {
        std::size_t end = start;
        for (; end < order.size() && scores[order[end]] == scores[order[start]]; ++end) {
            true_positives += labels[order[end]];
            predicted += 1;
        }
        // F1 = 2TP / (predicted positives + actual positives); >= keeps the smallest threshold on ties.
        const double f1 = 2 * true_positives / (predicted + positives);
        if (f1 >= best_f1) {
            best_f1 = f1;
            best = scores[order[start]];
        }
        start = end;
    }
    return best;
}

double expected_calibration_error(const std::vector<double>& probabilities, const std::vector<int>& labels, int bins) {
    check_binary(probabilities, labels, "expected_calibration_error");
    if (bins < 1) throw std::invalid_argument("expected_calibration_error: bins must be >= 1");
    if (probabilities.empty()) return kNaN;
    std::vector<double> count(static_cast<std::size_t>(bins)), outcome(count.size()), confidence(count.size());
    for (std::size_t i = 0; i < probabilities.size(); ++i) {
        const double p = probabilities[i];
        if (p < 0 || p > 1) throw std::invalid_argument("expected_calibration_error: probabilities must lie in [0, 1]");
        const auto bin = std::min(static_cast<std::size_t>(p * bins), count.size() - 1);
        count[bin] += 1;
        outcome[bin] += labels[i];
        confidence[bin] += p;
    }
    double ece = 0;
    for (std::size_t b = 0; b < count.size(); ++b) {
        if (count[b] > 0) ece += std::abs(outcome[b] - confidence[b]) / static_cast<double>(probabilities.size());
    }
    return ece;
}

double balanced_accuracy(const std::vector<int>& predicted, const std::vector<int>& truth, int classes) {
    if (predicted.size() != truth.size()) throw std::invalid_argument("balanced_accuracy: predicted and truth differ in length");
    std::vector<double> hits(static_cast<std::size_t>(std::max(classes, 0))), support(hits.size());
    for (std::size_t i = 0; i < truth.size(); ++i) {
        if (truth[i] < 0 || truth[i] >= classes || predicted[i] < 0 || predicted[i] >= classes) {
            throw std::invalid_argument("balanced_accuracy: class index outside [0, " + std::to_string(classes) + ")");
        }
        support[static_cast<std::size_t>(truth[i])] += 1;
        hits[static_cast<std::size_t>(truth[i])] += predicted[i] == truth[i] ? 1 : 0;
    }
    std::vector<double> recall;
    for (std::size_t c = 0; c < support.size(); ++c) recall.push_back(support[c] > 0 ? hits[c] / support[c] : kNaN);
    return nanmean(recall);
}

ConfusionMatrix confusion_matrix(const std::vector<int>& predicted, const std::vector<int>& truth, int classes) {
    if (predicted.size() != truth.size()) throw std::invalid_argument("confusion_matrix: predicted and truth differ in length");
    if (classes < 1) throw std::invalid_argument("confusion_matrix: classes must be >= 1");
    ConfusionMatrix m;
    m.classes = classes;
    m.counts.assign(static_cast<std::size_t>(classes) * static_cast<std::size_t>(classes), 0);
    for (std::size_t i = 0; i < truth.size(); ++i) {
        if (truth[i] < 0 || truth[i] >= classes || predicted[i] < 0 || predicted[i] >= classes) {
            throw std::invalid_argument("confusion_matrix: class index outside [0, " + std::to_string(classes) + ") at row " +
                                        std::to_string(i));
        }
        ++m.counts[static_cast<std::size_t>(truth[i]) * static_cast<std::size_t>(classes) + static_cast<std::size_t>(predicted[i])];
    }
    return m;
}

std::int64_t ConfusionMatrix::count(std::int64_t truth, std::int64_t predicted) const {
    return counts[static_cast<std::size_t>(truth * classes + predicted)];
}
std::int64_t ConfusionMatrix::support(std::int64_t k) const {
    std::int64_t n = 0;
    for (std::int64_t j = 0; j < classes; ++j) n += count(k, j);
    return n;
}
std::int64_t ConfusionMatrix::predicted(std::int64_t k) const {
    std::int64_t n = 0;
    for (std::int64_t t = 0; t < classes; ++t) n += count(t, k);
    return n;
}
std::int64_t ConfusionMatrix::total() const { return std::accumulate(counts.begin(), counts.end(), std::int64_t{0}); }
double ConfusionMatrix::sensitivity(std::int64_t k) const {
    return ratio(static_cast<double>(count(k, k)), static_cast<double>(support(k)));
}
double ConfusionMatrix::precision(std::int64_t k) const {
    return ratio(static_cast<double>(count(k, k)), static_cast<double>(predicted(k)));
}
double ConfusionMatrix::f1(std::int64_t k) const {
    if (support(k) == 0) return kNaN;  // absent class: undefined, even when it was predicted
    return 2.0 * static_cast<double>(count(k, k)) / static_cast<double>(support(k) + predicted(k));
}
double ConfusionMatrix::accuracy() const {
    std::int64_t hits = 0;
    for (std::int64_t k = 0; k < classes; ++k) hits += count(k, k);
    return ratio(static_cast<double>(hits), static_cast<double>(total()));
}
double ConfusionMatrix::macro_f1() const {
    std::vector<double> f;
    for (std::int64_t k = 0; k < classes; ++k) f.push_back(f1(k));
    return nanmean(f);
}
std::int64_t ConfusionMatrix::absent_classes() const {
    std::int64_t n = 0;
    for (std::int64_t k = 0; k < classes; ++k) n += support(k) == 0;
    return n;
}

RegressionMetrics regression_metrics(const std::vector<double>& predictions, const std::vector<double>& targets) {
    if (predictions.size() != targets.size() || targets.empty()) {
        throw std::invalid_argument("regression_metrics: predictions and targets must be non-empty and of equal length");
    }
    for (std::size_t i = 0; i < targets.size(); ++i) {
        if (!std::isfinite(predictions[i]) || !std::isfinite(targets[i])) {
            throw std::invalid_argument("regression_metrics: row " + std::to_string(i) + " is not finite");
        }
    }
    const double n = static_cast<double>(targets.size());
    const double mean_target = std::accumulate(targets.begin(), targets.end(), 0.0) / n;
    const double mean_prediction = std::accumulate(predictions.begin(), predictions.end(), 0.0) / n;
    double absolute = 0, squared = 0, total = 0, cross = 0, prediction_spread = 0;
    for (std::size_t i = 0; i < targets.size(); ++i) {
        const double error = predictions[i] - targets[i];
        absolute += std::abs(error);
        squared += error * error;
        total += (targets[i] - mean_target) * (targets[i] - mean_target);
        cross += (targets[i] - mean_target) * (predictions[i] - mean_prediction);
        prediction_spread += (predictions[i] - mean_prediction) * (predictions[i] - mean_prediction);
    }
    RegressionMetrics m;
    m.mae = absolute / n;
    m.rmse = std::sqrt(squared / n);
    m.r2 = total > 0 ? 1 - squared / total : kNaN;
    m.pearson_r = total > 0 && prediction_spread > 0 ? cross / std::sqrt(total * prediction_spread) : kNaN;
    return m;
}

}  // namespace ecgbench
