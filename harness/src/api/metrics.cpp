// AUROC and its bootstrap CI, matching scikit-learn's roc_auc_score. AUROC is computed as the
// Mann-Whitney U statistic with average ranks for tied scores, which is algebraically identical to
// the trapezoidal area under the ROC curve sklearn builds from distinct thresholds (a block of tied
// scores becomes one diagonal ROC segment, worth half a "win" per positive/negative pair).
#include "ecgbench/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <numeric>
#include <random>
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

/// numpy.percentile's default ("linear") interpolation on sorted values.
double percentile_sorted(const std::vector<double>& sorted, double q) {
    const double position = q / 100.0 * static_cast<double>(sorted.size() - 1);
    const auto below = static_cast<std::size_t>(std::floor(position));
    const std::size_t above = std::min(below + 1, sorted.size() - 1);
    const double fraction = position - static_cast<double>(below);
    return sorted[below] + fraction * (sorted[above] - sorted[below]);
}

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
    const auto c = static_cast<std::size_t>(classes);
    const std::size_t n = scores.size() / c;

    // mt19937_64 is fully specified by the standard, and the index draw below avoids the
    // library-specific std::uniform_int_distribution, so a seed gives the same CI everywhere.
    std::mt19937_64 engine(seed);
    std::vector<double> draw_scores(n * c);
    std::vector<int> draw_labels(n * c);
    std::vector<double> column_scores;
    std::vector<int> column_labels;
    std::vector<std::size_t> order;
    std::vector<double> estimates;
    estimates.reserve(static_cast<std::size_t>(resamples));
    for (int r = 0; r < resamples; ++r) {
        for (std::size_t i = 0; i < n; ++i) {
            // Multiply-shift maps 64 random bits onto [0, n) with negligible bias for any realistic n.
            const auto row = static_cast<std::size_t>((static_cast<unsigned __int128>(engine()) * n) >> 64);
            std::copy_n(scores.begin() + static_cast<std::ptrdiff_t>(row * c), c,
                        draw_scores.begin() + static_cast<std::ptrdiff_t>(i * c));
            std::copy_n(labels.begin() + static_cast<std::ptrdiff_t>(row * c), c,
                        draw_labels.begin() + static_cast<std::ptrdiff_t>(i * c));
        }
        const double macro =
            nanmean(per_class(draw_scores.data(), draw_labels.data(), n, c, column_scores, column_labels, order));
        if (!std::isnan(macro)) estimates.push_back(macro);
    }
    if (estimates.empty()) return {kNaN, kNaN};
    std::sort(estimates.begin(), estimates.end());
    return {percentile_sorted(estimates, 2.5), percentile_sorted(estimates, 97.5)};
}

}  // namespace ecgbench
