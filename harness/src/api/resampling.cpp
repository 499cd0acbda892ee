// Bootstrap and permutation statistics (see resampling.hpp).
#include "ecgbench/resampling.hpp"

#include "ecgbench/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>

namespace ecgbench {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// An index in [0, n) from 64 random bits by multiply-shift (negligible bias for any realistic n).
/// Unlike std::uniform_int_distribution it is the same on every standard library.
std::size_t index_below(std::mt19937_64& engine, std::size_t n) {
    return static_cast<std::size_t>((static_cast<unsigned __int128>(engine()) * n) >> 64);
}

/// numpy.percentile's default ("linear") interpolation on sorted values.
double percentile_sorted(const std::vector<double>& sorted, double q) {
    const double position = q / 100.0 * static_cast<double>(sorted.size() - 1);
    const auto below = static_cast<std::size_t>(std::floor(position));
    const std::size_t above = std::min(below + 1, sorted.size() - 1);
    const double fraction = position - static_cast<double>(below);
    return sorted[below] + fraction * (sorted[above] - sorted[below]);
}

void check_level(double level) {
    if (!(level > 0 && level < 1)) throw std::invalid_argument("resampling: level must lie in (0, 1), got " + std::to_string(level));
}

/// The percentile interval of the finite `values` of a statistic whose value on all rows is `estimate`.
Interval interval_of(double estimate, std::vector<double> values, double level) {
    Interval interval{estimate, kNaN, kNaN, static_cast<std::int64_t>(values.size())};
    if (values.empty()) return interval;
    std::sort(values.begin(), values.end());
    const double percent = 100 * level;  // 95 exactly for 0.95, so the tails are exactly 2.5 and 97.5
    interval.low = percentile_sorted(values, (100 - percent) / 2);
    interval.high = percentile_sorted(values, (100 + percent) / 2);
    return interval;
}

/// SplitMix64's output function: well-mixed, independent-looking seeds from consecutive inputs.
std::uint64_t splitmix64(std::uint64_t x) {
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

void check_table(std::size_t size, std::int64_t classes, const char* what) {
    if (classes < 1 || size % static_cast<std::size_t>(classes) != 0)
        throw std::invalid_argument(std::string(what) + ": the table must be [n, classes] with classes >= 1");
}

/// Column `c` of a row-major table with `classes` columns.
template <typename T>
std::vector<T> column(const std::vector<T>& table, std::size_t c, std::size_t classes) {
    std::vector<T> out;
    out.reserve(table.size() / classes);
    for (std::size_t i = c; i < table.size(); i += classes) out.push_back(table[i]);
    return out;
}

/// Rows of each group, groups in order of first appearance.
std::vector<std::vector<std::size_t>> rows_by_group(const std::vector<std::int64_t>& groups) {
    std::map<std::int64_t, std::size_t> slot;
    std::vector<std::vector<std::size_t>> rows;
    for (std::size_t i = 0; i < groups.size(); ++i) {
        const auto [it, added] = slot.try_emplace(groups[i], rows.size());
        if (added) rows.emplace_back();
        rows[it->second].push_back(i);
    }
    return rows;
}

}  // namespace

Resamples::Resamples(std::size_t n, ResampleOptions options) : n_(n), options_(std::move(options)) {
    if (options_.resamples < 0) throw std::invalid_argument("Resamples: resamples must be >= 0");
    if (!options_.groups.empty() && options_.groups.size() != n_) {
        throw std::invalid_argument("Resamples: groups has " + std::to_string(options_.groups.size()) + " entries for " +
                                    std::to_string(n_) + " rows");
    }
    if (!options_.stratify_by.empty() && options_.stratify_by.size() != n_) {
        throw std::invalid_argument("Resamples: stratify_by has " + std::to_string(options_.stratify_by.size()) +
                                    " entries for " + std::to_string(n_) + " rows");
    }
    if (!options_.groups.empty() && !options_.stratify_by.empty()) {
        throw std::invalid_argument("Resamples: groups and stratify_by cannot be combined");
    }
    if (!options_.require_positive_labels.empty() &&
        (options_.classes < 1 || options_.require_positive_labels.size() != n_ * static_cast<std::size_t>(options_.classes))) {
        throw std::invalid_argument("Resamples: require_positive_labels must be [rows, classes] with classes >= 1");
    }
}

std::int64_t Resamples::for_each(const std::function<void(const std::vector<std::size_t>& rows)>& visit) const {
    std::mt19937_64 engine(options_.seed);
    const auto classes = static_cast<std::size_t>(std::max<std::int64_t>(options_.classes, 0));

    // The draw units: single rows, whole groups, or rows within each stratum.
    const std::vector<std::vector<std::size_t>> groups = rows_by_group(options_.groups);
    std::vector<std::vector<std::size_t>> strata(2);
    for (std::size_t i = 0; i < options_.stratify_by.size(); ++i) strata[options_.stratify_by[i] != 0 ? 1 : 0].push_back(i);

    // Classes that must keep a positive (those with one in the data).
    std::vector<std::size_t> must_have;
    const auto& labels = options_.require_positive_labels;
    for (std::size_t c = 0; c < classes && !labels.empty(); ++c) {
        for (std::size_t i = 0; i < n_; ++i) {
            if (labels[i * classes + c] != 0) {
                must_have.push_back(c);
                break;
            }
        }
    }
    auto acceptable = [&](const std::vector<std::size_t>& rows) {
        for (std::size_t c : must_have) {
            if (std::none_of(rows.begin(), rows.end(), [&](std::size_t r) { return labels[r * classes + c] != 0; })) return false;
        }
        return true;
    };

    std::vector<std::size_t> rows;
    std::int64_t rejected = 0;
    const std::int64_t max_draws = 100 * static_cast<std::int64_t>(std::max(options_.resamples, 1));
    for (int r = 0; r < options_.resamples;) {
        rows.clear();
        if (!options_.groups.empty()) {
            for (std::size_t g = 0; g < groups.size(); ++g) {
                const auto& members = groups[index_below(engine, groups.size())];
                rows.insert(rows.end(), members.begin(), members.end());
            }
        } else if (!options_.stratify_by.empty()) {
            for (const auto& stratum : strata) {
                for (std::size_t k = 0; k < stratum.size(); ++k) rows.push_back(stratum[index_below(engine, stratum.size())]);
            }
        } else {
            for (std::size_t i = 0; i < n_; ++i) rows.push_back(index_below(engine, n_));
        }
        if (!acceptable(rows)) {
            if (++rejected + r >= max_draws) {
                throw std::runtime_error("Resamples: " + std::to_string(rejected) +
                                         " draws lacked a positive of some class; too few positives to bootstrap");
            }
            continue;
        }
        visit(rows);
        ++r;
    }
    return rejected;
}

double macro_auroc(const std::vector<double>& scores, const std::vector<int>& labels, std::int64_t classes) {
    return nanmean(per_class_auroc(scores, labels, classes));
}

Statistic table_statistic(const std::vector<double>& scores, const std::vector<int>& labels, std::int64_t classes,
                          TableMetric metric) {
    if (classes < 1 || scores.size() != labels.size() || scores.size() % static_cast<std::size_t>(classes) != 0) {
        throw std::invalid_argument("table_statistic: scores and labels must both be [n, classes]");
    }
    return [&scores, &labels, classes, metric = std::move(metric)](const std::vector<std::size_t>& rows) {
        const auto c = static_cast<std::size_t>(classes);
        std::vector<double> s(rows.size() * c);
        std::vector<int> l(rows.size() * c);
        for (std::size_t i = 0; i < rows.size(); ++i) {
            std::copy_n(scores.begin() + static_cast<std::ptrdiff_t>(rows[i] * c), c, s.begin() + static_cast<std::ptrdiff_t>(i * c));
            std::copy_n(labels.begin() + static_cast<std::ptrdiff_t>(rows[i] * c), c, l.begin() + static_cast<std::ptrdiff_t>(i * c));
        }
        return metric(s, l, classes);
    };
}

Interval percentile_interval(const Statistic& statistic, const Resamples& resamples, double level) {
    check_level(level);
    std::vector<std::size_t> all(resamples.rows());
    std::iota(all.begin(), all.end(), std::size_t{0});
    std::vector<double> values;
    resamples.for_each([&](const std::vector<std::size_t>& rows) {
        const double v = statistic(rows);
        if (!std::isnan(v)) values.push_back(v);
    });
    return interval_of(statistic(all), std::move(values), level);
}

Resamples label_resamples(const std::vector<int>& labels, std::int64_t classes, std::int64_t label, const ResampleOptions& options) {
    check_table(labels.size(), classes, "label_resamples");
    if (label < 0 || label >= classes)
        throw std::invalid_argument("label_resamples: label " + std::to_string(label) + " is not in [0, " + std::to_string(classes) + ")");
    if (!options.groups.empty() || !options.require_positive_labels.empty())
        throw std::invalid_argument("label_resamples: groups and require_positive_labels do not apply to the per-label bootstrap");
    ResampleOptions per_label(options.resamples, splitmix64(options.seed + static_cast<std::uint64_t>(label + 1) * 0x9E3779B97F4A7C15ULL));
    per_label.stratify_by = column(labels, static_cast<std::size_t>(label), static_cast<std::size_t>(classes));
    const std::size_t n = per_label.stratify_by.size();
    return Resamples(n, std::move(per_label));
}

Interval stratified_per_label_interval(const std::vector<double>& scores, const std::vector<int>& labels, std::int64_t classes,
                                       const BinaryMetric& metric, const ResampleOptions& options, double level) {
    return stratified_per_label_interval(std::vector<std::vector<double>>{scores}, labels, classes, metric, options, level);
}

namespace {

// The stratified per-label bootstrap's values: per_class[k][r] = the mean over runs of `metric` of
// class k on its r-th resample (label_resamples), on_all_rows[k] = the same on every row.
struct PerLabelValues {
    std::vector<std::vector<double>> per_class;
    std::vector<double> on_all_rows;
    /// The macro average (mean over the classes where it is defined) on resample r; NaN if none.
    double macro(std::size_t r) const {
        std::vector<double> resample(per_class.size());
        for (std::size_t k = 0; k < per_class.size(); ++k) resample[k] = per_class[k][r];
        return nanmean(resample);
    }
};

PerLabelValues per_label_values(const std::vector<std::vector<double>>& runs, const std::vector<int>& labels, std::int64_t classes,
                                const BinaryMetric& metric, const ResampleOptions& options, const char* what) {
    check_table(labels.size(), classes, what);
    if (runs.empty()) throw std::invalid_argument(std::string(what) + ": no scores");
    for (const auto& scores : runs)
        if (scores.size() != labels.size()) throw std::invalid_argument(std::string(what) + ": scores and labels must both be [n, classes]");
    const auto c = static_cast<std::size_t>(classes);
    // The mean over runs of the metric of class k on `rows` (all runs scored the same records).
    auto run_mean = [&](const std::vector<std::vector<double>>& run_scores, const std::vector<int>& class_labels,
                        const std::vector<std::size_t>* rows) {
        std::vector<double> drawn_scores;
        std::vector<int> drawn_labels;
        double sum = 0;
        for (const auto& class_scores : run_scores) {
            drawn_scores.clear();
            drawn_labels.clear();
            if (rows) {
                for (std::size_t r : *rows) {
                    drawn_scores.push_back(class_scores[r]);
                    drawn_labels.push_back(class_labels[r]);
                }
            }
            sum += rows ? metric(drawn_scores, drawn_labels) : metric(class_scores, class_labels);
        }
        return sum / static_cast<double>(run_scores.size());
    };
    PerLabelValues out{std::vector<std::vector<double>>(c), std::vector<double>(c)};
    for (std::size_t k = 0; k < c; ++k) {
        std::vector<std::vector<double>> run_scores;
        for (const auto& scores : runs) run_scores.push_back(column(scores, k, c));
        const std::vector<int> class_labels = column(labels, k, c);
        out.on_all_rows[k] = run_mean(run_scores, class_labels, nullptr);
        label_resamples(labels, classes, static_cast<std::int64_t>(k), options).for_each([&](const std::vector<std::size_t>& rows) {
            out.per_class[k].push_back(run_mean(run_scores, class_labels, &rows));
        });
    }
    return out;
}

}  // namespace

Interval stratified_per_label_interval(const std::vector<std::vector<double>>& runs, const std::vector<int>& labels,
                                       std::int64_t classes, const BinaryMetric& metric, const ResampleOptions& options,
                                       double level) {
    check_level(level);
    const auto v = per_label_values(runs, labels, classes, metric, options, "stratified_per_label_interval");
    std::vector<double> values;
    for (int r = 0; r < options.resamples; ++r) {
        const double mean = v.macro(static_cast<std::size_t>(r));
        if (!std::isnan(mean)) values.push_back(mean);
    }
    return interval_of(nanmean(v.on_all_rows), std::move(values), level);
}

PairedComparison paired_stratified_per_label(const std::vector<double>& scores_a, const std::vector<double>& scores_b,
                                             const std::vector<int>& labels, std::int64_t classes, const BinaryMetric& metric,
                                             const ResampleOptions& options, double level) {
    check_level(level);
    const char* what = "paired_stratified_per_label";
    const auto a = per_label_values({scores_a}, labels, classes, metric, options, what);
    const auto b = per_label_values({scores_b}, labels, classes, metric, options, what);
    std::vector<double> differences;
    std::int64_t at_most_zero = 0, at_least_zero = 0;
    for (int r = 0; r < options.resamples; ++r) {
        const double d = a.macro(static_cast<std::size_t>(r)) - b.macro(static_cast<std::size_t>(r));
        if (std::isnan(d)) continue;
        differences.push_back(d);
        at_most_zero += d <= 0 ? 1 : 0;
        at_least_zero += d >= 0 ? 1 : 0;
    }
    PairedComparison result{interval_of(nanmean(a.on_all_rows) - nanmean(b.on_all_rows), std::move(differences), level), kNaN};
    if (result.difference.used > 0) {
        const double used = static_cast<double>(result.difference.used);
        result.p_bootstrap = std::min(1.0, 2 * std::min(at_most_zero / used, at_least_zero / used));
    }
    return result;
}

PairedComparison paired_bootstrap(const Statistic& a, const Statistic& b, const Resamples& resamples, double level) {
    const Statistic difference = [&](const std::vector<std::size_t>& rows) { return a(rows) - b(rows); };
    PairedComparison result{percentile_interval(difference, resamples, level), kNaN};
    std::int64_t at_most_zero = 0, at_least_zero = 0;
    resamples.for_each([&](const std::vector<std::size_t>& rows) {
        const double d = difference(rows);
        if (std::isnan(d)) return;
        at_most_zero += d <= 0 ? 1 : 0;
        at_least_zero += d >= 0 ? 1 : 0;
    });
    if (result.difference.used > 0) {
        const double used = static_cast<double>(result.difference.used);
        result.p_bootstrap = std::min(1.0, 2 * std::min(at_most_zero / used, at_least_zero / used));
    }
    return result;
}

double permutation_p_value(const std::vector<double>& scores_a, const std::vector<double>& scores_b,
                           const std::vector<int>& labels, std::int64_t classes, const TableMetric& metric,
                           int permutations, std::uint64_t seed, const std::vector<std::int64_t>& groups) {
    if (scores_a.size() != scores_b.size() || scores_a.size() != labels.size() || classes < 1 ||
        scores_a.size() % static_cast<std::size_t>(classes) != 0) {
        throw std::invalid_argument("permutation_p_value: scores_a, scores_b and labels must all be [n, classes]");
    }
    if (permutations < 1) throw std::invalid_argument("permutation_p_value: permutations must be >= 1");
    const auto c = static_cast<std::size_t>(classes);
    const std::size_t n = scores_a.size() / c;
    if (!groups.empty() && groups.size() != n) throw std::invalid_argument("permutation_p_value: groups must have one entry per row");
    std::vector<std::int64_t> units(groups);
    if (units.empty()) {
        units.resize(n);
        std::iota(units.begin(), units.end(), std::int64_t{0});
    }
    const auto unit_rows = rows_by_group(units);

    const double observed = std::abs(metric(scores_a, labels, classes) - metric(scores_b, labels, classes));
    if (std::isnan(observed)) return kNaN;
    std::mt19937_64 engine(seed);
    std::vector<double> a(scores_a.size()), b(scores_b.size());
    int extreme = 0;
    for (int p = 0; p < permutations; ++p) {
        a = scores_a;
        b = scores_b;
        for (const auto& rows : unit_rows) {
            if ((engine() >> 63) == 0) continue;  // one fair coin per unit
            for (std::size_t r : rows) {
                std::swap_ranges(a.begin() + static_cast<std::ptrdiff_t>(r * c), a.begin() + static_cast<std::ptrdiff_t>((r + 1) * c),
                                 b.begin() + static_cast<std::ptrdiff_t>(r * c));
            }
        }
        // A relative tolerance so that the identity permutation always counts as extreme.
        const double d = std::abs(metric(a, labels, classes) - metric(b, labels, classes));
        extreme += d >= observed * (1 - 1e-12) ? 1 : 0;
    }
    return (1.0 + extreme) / (1.0 + permutations);
}

}  // namespace ecgbench
