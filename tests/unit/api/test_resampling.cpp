// Bootstrap resamples (rows, patients, strata, the PTB-XL rejection rule), percentile intervals,
// paired comparisons and the permutation test.
#include "ecgbench/metrics.hpp"
#include "ecgbench/resampling.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <vector>

namespace {

using ecgbench::ResampleOptions;
using ecgbench::Resamples;

std::vector<std::vector<std::size_t>> collect(const Resamples& resamples) {
    std::vector<std::vector<std::size_t>> all;
    resamples.for_each([&](const std::vector<std::size_t>& rows) { all.push_back(rows); });
    return all;
}

TEST(Resamples, SameSeedSameRowsOnEveryVisitOtherSeedOtherRows) {
    const Resamples a(30, {50, 7});
    const auto first = collect(a);
    ASSERT_EQ(first.size(), 50u);
    EXPECT_EQ(first, collect(a));
    EXPECT_EQ(first, collect(Resamples(30, {50, 7})));
    EXPECT_NE(first, collect(Resamples(30, {50, 8})));
    for (const auto& rows : first) {
        EXPECT_EQ(rows.size(), 30u);
        EXPECT_TRUE(std::all_of(rows.begin(), rows.end(), [](std::size_t r) { return r < 30; }));
    }
}

TEST(Resamples, PatientsAreDrawnWhole) {
    // Rows 0-1 are patient 5, rows 2-4 patient 9, row 5 patient 1: a resample holds each patient's
    // rows equally often.
    ResampleOptions options{200, 3};
    options.groups = {5, 5, 9, 9, 9, 1};
    for (const auto& rows : collect(Resamples(6, options))) {
        auto count = [&](std::size_t r) { return std::count(rows.begin(), rows.end(), r); };
        EXPECT_EQ(count(0), count(1));
        EXPECT_EQ(count(2), count(3));
        EXPECT_EQ(count(3), count(4));
        EXPECT_EQ(rows.size(), 2 * count(0) + 3 * count(2) + count(5));
    }
}

TEST(Resamples, StratifiedKeepsTheClassBalance) {
    ResampleOptions options{100, 1};
    options.stratify_by = {1, 0, 0, 0, 1, 0, 0, 0, 0, 0};
    for (const auto& rows : collect(Resamples(10, options))) {
        const auto positives = std::count_if(rows.begin(), rows.end(), [](std::size_t r) { return r == 0 || r == 4; });
        EXPECT_EQ(positives, 2);
        EXPECT_EQ(rows.size(), 10u);
    }
}

TEST(Resamples, PtbxlRuleRejectsDrawsWithoutAPositive) {
    // Class 0 has one positive among 20 rows: a plain draw misses it with probability (19/20)^20 ≈ 0.36.
    ResampleOptions options{200, 11};
    options.classes = 2;
    options.require_positive_labels.assign(40, 0);
    options.require_positive_labels[0] = 1;                 // row 0, class 0
    for (int r = 0; r < 20; r += 2) options.require_positive_labels[r * 2 + 1] = 1;  // class 1: every other row
    const Resamples resamples(20, options);
    std::int64_t accepted = 0;
    const std::int64_t rejected = resamples.for_each([&](const std::vector<std::size_t>& rows) {
        ++accepted;
        EXPECT_NE(std::find(rows.begin(), rows.end(), 0u), rows.end());
    });
    EXPECT_EQ(accepted, 200);
    EXPECT_GT(rejected, 50);  // expected ≈ 200 · 0.36 / 0.64 ≈ 112
    EXPECT_LT(rejected, 200);
}

TEST(PercentileInterval, ConstantStatisticAndCoverage) {
    const Resamples resamples(50, {400, 2});
    const auto constant = ecgbench::percentile_interval([](const std::vector<std::size_t>&) { return 0.7; }, resamples);
    EXPECT_DOUBLE_EQ(constant.estimate, 0.7);
    EXPECT_DOUBLE_EQ(constant.low, 0.7);
    EXPECT_DOUBLE_EQ(constant.high, 0.7);
    EXPECT_EQ(constant.used, 400);
    // Mean of 0..49: estimate 24.5; the 95 % interval brackets it and is narrower than the data.
    const auto mean = ecgbench::percentile_interval(
        [](const std::vector<std::size_t>& rows) {
            return std::accumulate(rows.begin(), rows.end(), 0.0) / static_cast<double>(rows.size());
        },
        resamples);
    EXPECT_DOUBLE_EQ(mean.estimate, 24.5);
    EXPECT_LT(mean.low, 24.5);
    EXPECT_GT(mean.high, 24.5);
    // Standard error of the mean ≈ 14.4 / √50 ≈ 2.04: the interval is about ±4.
    EXPECT_GT(mean.high - mean.low, 5.0);
    EXPECT_LT(mean.high - mean.low, 11.0);
    EXPECT_THROW(ecgbench::percentile_interval([](const auto&) { return 0.0; }, resamples, 1.5), std::invalid_argument);
}

TEST(PercentileInterval, MacroAurocMatchesTheLinearProbesBootstrap) {
    std::vector<double> scores;
    std::vector<int> labels;
    for (int i = 0; i < 40; ++i) {
        labels.push_back(i % 3 == 0);
        scores.push_back(std::sin(i * 1.7) + 0.8 * (i % 3 == 0));
    }
    const auto [low, high] = ecgbench::bootstrap_macro_auroc_ci(scores, labels, 1, 300, 5);
    const auto interval = ecgbench::percentile_interval(ecgbench::table_statistic(scores, labels, 1, ecgbench::macro_auroc),
                                                        Resamples(40, {300, 5}));
    EXPECT_DOUBLE_EQ(interval.low, low);
    EXPECT_DOUBLE_EQ(interval.high, high);
    EXPECT_DOUBLE_EQ(interval.estimate, ecgbench::auroc(scores, labels));
}

// Three labels over 60 rows: common, rare (3 positives) and single (1 positive); scores informative
// but noisy.
struct MultiLabel {
    std::vector<int> labels;
    std::vector<double> scores;
    std::vector<std::int64_t> positives{0, 0, 0};
    MultiLabel() {
        for (int i = 0; i < 60; ++i) {
            const int row[3] = {(i * 7) % 5 < 2, i % 20 == 3, i == 17};
            for (int k = 0; k < 3; ++k) {
                labels.push_back(row[k]);
                scores.push_back(0.8 * row[k] + std::sin(i * (1.3 + 0.4 * k) + k));
                positives[k] += row[k];
            }
        }
    }
};

double auroc_metric(const std::vector<double>& s, const std::vector<int>& l) { return ecgbench::auroc(s, l); }

TEST(StratifiedPerLabel, EveryResampleKeepsEachLabelsPositivesAndNegatives) {
    const MultiLabel m;
    std::vector<std::vector<std::vector<std::size_t>>> by_label;
    for (std::int64_t k = 0; k < 3; ++k) {
        const Resamples resamples = ecgbench::label_resamples(m.labels, 3, k, {150, 9});
        by_label.push_back(collect(resamples));
        ASSERT_EQ(by_label.back().size(), 150u);
        for (const auto& rows : by_label.back()) {
            ASSERT_EQ(rows.size(), 60u);
            const auto drawn = std::count_if(rows.begin(), rows.end(), [&](std::size_t r) { return m.labels[r * 3 + k] == 1; });
            EXPECT_EQ(drawn, m.positives[static_cast<std::size_t>(k)]);
        }
        EXPECT_EQ(by_label.back(), collect(ecgbench::label_resamples(m.labels, 3, k, {150, 9})));  // reproducible
    }
    // Each label draws its own rows (seeds derived per label), and the seed matters.
    EXPECT_NE(by_label[0], by_label[1]);
    EXPECT_NE(by_label[0], collect(ecgbench::label_resamples(m.labels, 3, 0, {150, 10})));
}

TEST(StratifiedPerLabel, IntervalIsThePercentileOfPerLabelMeans) {
    const MultiLabel m;
    const auto interval = ecgbench::stratified_per_label_interval(m.scores, m.labels, 3, auroc_metric, {200, 4}, 0.9);
    EXPECT_DOUBLE_EQ(interval.estimate, ecgbench::macro_auroc(m.scores, m.labels, 3));
    EXPECT_EQ(interval.used, 200);  // no resample lacks a positive of any label
    // Recompute: resample r's value is the mean of the three labels' AUROCs on their r-th resamples.
    std::vector<double> sums(200, 0.0);
    for (std::int64_t k = 0; k < 3; ++k) {
        std::size_t r = 0;
        ecgbench::label_resamples(m.labels, 3, k, {200, 4}).for_each([&](const std::vector<std::size_t>& rows) {
            std::vector<double> s;
            std::vector<int> l;
            for (std::size_t row : rows) {
                s.push_back(m.scores[row * 3 + static_cast<std::size_t>(k)]);
                l.push_back(m.labels[row * 3 + static_cast<std::size_t>(k)]);
            }
            sums[r++] += ecgbench::auroc(s, l) / 3;
        });
    }
    std::sort(sums.begin(), sums.end());
    // numpy's linear percentile at 5 and 95 of 200 values: positions 9.95 and 189.05.
    EXPECT_NEAR(interval.low, sums[9] + 0.95 * (sums[10] - sums[9]), 1e-12);
    EXPECT_NEAR(interval.high, sums[189] + 0.05 * (sums[190] - sums[189]), 1e-12);
}

TEST(StratifiedPerLabel, NarrowerThanThePlainBootstrapWhenALabelIsRare) {
    // The plain bootstrap lets the rare labels' positive counts vary (and lose the single positive
    // in a third of the draws, changing which labels are averaged); stratification holds them fixed.
    const MultiLabel m;
    double plain = 0, stratified = 0;
    for (std::uint64_t seed = 0; seed < 8; ++seed) {
        const auto p = ecgbench::percentile_interval(ecgbench::table_statistic(m.scores, m.labels, 3, ecgbench::macro_auroc),
                                                     Resamples(60, {300, seed}));
        const auto s = ecgbench::stratified_per_label_interval(m.scores, m.labels, 3, auroc_metric, {300, seed});
        plain += p.high - p.low;
        stratified += s.high - s.low;
    }
    EXPECT_LT(stratified, 0.9 * plain);
}

TEST(StratifiedPerLabel, SeveralRunsShareEachLabelsResamplesAndAverage) {
    // Two seeds of one method on the same records: a label's value on a resample is the mean of the
    // two runs' AUROCs on that same resample. One run equals the single-run interval; two identical
    // runs do too; two different runs give the mean estimate and the recomputed percentiles.
    const MultiLabel m;
    std::vector<double> other = m.scores;
    for (std::size_t i = 0; i < other.size(); ++i) other[i] += 0.5 * std::cos(static_cast<double>(i));
    const auto one = ecgbench::stratified_per_label_interval(m.scores, m.labels, 3, auroc_metric, {200, 4}, 0.9);
    const auto same = ecgbench::stratified_per_label_interval(std::vector<std::vector<double>>{m.scores, m.scores}, m.labels, 3,
                                                              auroc_metric, {200, 4}, 0.9);
    EXPECT_DOUBLE_EQ(same.estimate, one.estimate);
    EXPECT_DOUBLE_EQ(same.low, one.low);
    EXPECT_DOUBLE_EQ(same.high, one.high);

    const auto both = ecgbench::stratified_per_label_interval(std::vector<std::vector<double>>{m.scores, other}, m.labels, 3,
                                                              auroc_metric, {200, 4}, 0.9);
    EXPECT_NEAR(both.estimate, 0.5 * (ecgbench::macro_auroc(m.scores, m.labels, 3) + ecgbench::macro_auroc(other, m.labels, 3)), 1e-12);
    std::vector<double> sums(200, 0.0);
    for (std::int64_t k = 0; k < 3; ++k) {
        std::size_t r = 0;
        ecgbench::label_resamples(m.labels, 3, k, {200, 4}).for_each([&](const std::vector<std::size_t>& rows) {
            for (const std::vector<double>* scores : {&m.scores, static_cast<const std::vector<double>*>(&other)}) {
                std::vector<double> s;
                std::vector<int> l;
                for (std::size_t row : rows) {
                    s.push_back((*scores)[row * 3 + static_cast<std::size_t>(k)]);
                    l.push_back(m.labels[row * 3 + static_cast<std::size_t>(k)]);
                }
                sums[r] += ecgbench::auroc(s, l) / 6;
            }
            ++r;
        });
    }
    std::sort(sums.begin(), sums.end());
    EXPECT_NEAR(both.low, sums[9] + 0.95 * (sums[10] - sums[9]), 1e-12);
    EXPECT_NEAR(both.high, sums[189] + 0.05 * (sums[190] - sums[189]), 1e-12);
    EXPECT_THROW(ecgbench::stratified_per_label_interval(std::vector<std::vector<double>>{}, m.labels, 3, auroc_metric, {10, 1}),
                 std::invalid_argument);
}

TEST(StratifiedPerLabel, RejectsOptionsThatDoNotApply) {
    const MultiLabel m;
    ResampleOptions grouped{100, 1};
    grouped.groups.assign(60, 0);
    EXPECT_THROW(ecgbench::label_resamples(m.labels, 3, 0, grouped), std::invalid_argument);
    EXPECT_THROW(ecgbench::label_resamples(m.labels, 3, 3, {100, 1}), std::invalid_argument);
    EXPECT_THROW(ecgbench::stratified_per_label_interval(m.scores, m.labels, 7, auroc_metric, {100, 1}), std::invalid_argument);
}

struct TwoMethods {
    std::vector<int> labels;
    std::vector<double> good, noisy;
    TwoMethods() {
        for (int i = 0; i < 60; ++i) {
            const int y = (i * 7) % 5 < 2;
            labels.push_back(y);
            good.push_back(y + 0.3 * std::sin(i * 2.3));            // separates the classes
            noisy.push_back(0.2 * y + std::sin(i * 1.1 + 0.4));      // barely informative
        }
    }
};

TEST(PairedComparison, IdenticalMethodsDifferByExactlyNothing) {
    const TwoMethods m;
    const auto a = ecgbench::table_statistic(m.good, m.labels, 1, ecgbench::macro_auroc);
    const auto result = ecgbench::paired_bootstrap(a, a, Resamples(60, {200, 1}));
    EXPECT_DOUBLE_EQ(result.difference.estimate, 0.0);
    EXPECT_DOUBLE_EQ(result.difference.low, 0.0);
    EXPECT_DOUBLE_EQ(result.difference.high, 0.0);
    EXPECT_DOUBLE_EQ(result.p_bootstrap, 1.0);
    EXPECT_DOUBLE_EQ(ecgbench::permutation_p_value(m.good, m.good, m.labels, 1, ecgbench::macro_auroc, 99, 1), 1.0);
}

TEST(PairedComparison, ABetterMethodIsSignificantlyBetter) {
    const TwoMethods m;
    const auto good = ecgbench::table_statistic(m.good, m.labels, 1, ecgbench::macro_auroc);
    const auto noisy = ecgbench::table_statistic(m.noisy, m.labels, 1, ecgbench::macro_auroc);
    const auto result = ecgbench::paired_bootstrap(good, noisy, Resamples(60, {500, 2}));
    EXPECT_GT(result.difference.estimate, 0.2);
    EXPECT_GT(result.difference.low, 0.0);
    EXPECT_LT(result.p_bootstrap, 0.01);
    // Swapped order: the same difference negated.
    const auto swapped = ecgbench::paired_bootstrap(noisy, good, Resamples(60, {500, 2}));
    EXPECT_DOUBLE_EQ(swapped.difference.estimate, -result.difference.estimate);
    EXPECT_DOUBLE_EQ(swapped.difference.high, -result.difference.low);
    const double p = ecgbench::permutation_p_value(m.good, m.noisy, m.labels, 1, ecgbench::macro_auroc, 999, 3);
    EXPECT_LT(p, 0.01);
    EXPECT_GE(p, 1.0 / 1000.0);  // the identity permutation always counts
}

TEST(PairedComparison, StratifiedPerLabelDifferenceOnEachLabelsSharedResamples) {
    // Both methods scored on each label's same stratified resamples: resample r's difference is
    // macro(a) − macro(b) over the labels' r-th resamples, recomputed here from label_resamples.
    const MultiLabel m;
    std::vector<double> other = m.scores;
    for (std::size_t i = 0; i < other.size(); ++i) other[i] += 0.8 * std::cos(1.7 * static_cast<double>(i));
    const auto result = ecgbench::paired_stratified_per_label(m.scores, other, m.labels, 3, auroc_metric, {200, 5}, 0.9);
    EXPECT_NEAR(result.difference.estimate,
                ecgbench::macro_auroc(m.scores, m.labels, 3) - ecgbench::macro_auroc(other, m.labels, 3), 1e-12);
    EXPECT_EQ(result.difference.used, 200);
    std::vector<double> differences(200, 0.0);
    for (std::int64_t k = 0; k < 3; ++k) {
        std::size_t r = 0;
        ecgbench::label_resamples(m.labels, 3, k, {200, 5}).for_each([&](const std::vector<std::size_t>& rows) {
            std::vector<double> sa, sb;
            std::vector<int> l;
            for (std::size_t row : rows) {
                sa.push_back(m.scores[row * 3 + static_cast<std::size_t>(k)]);
                sb.push_back(other[row * 3 + static_cast<std::size_t>(k)]);
                l.push_back(m.labels[row * 3 + static_cast<std::size_t>(k)]);
            }
            differences[r++] += (ecgbench::auroc(sa, l) - ecgbench::auroc(sb, l)) / 3;
        });
    }
    std::int64_t below = 0, above = 0;
    for (double d : differences) {
        below += d <= 0;
        above += d >= 0;
    }
    EXPECT_NEAR(result.p_bootstrap, std::min(1.0, 2 * std::min(below, above) / 200.0), 1e-12);
    std::sort(differences.begin(), differences.end());
    EXPECT_NEAR(result.difference.low, differences[9] + 0.95 * (differences[10] - differences[9]), 1e-12);
    EXPECT_NEAR(result.difference.high, differences[189] + 0.05 * (differences[190] - differences[189]), 1e-12);

    // Identical methods differ by exactly nothing, p = 1.
    const auto same = ecgbench::paired_stratified_per_label(m.scores, m.scores, m.labels, 3, auroc_metric, {100, 1});
    EXPECT_DOUBLE_EQ(same.difference.low, 0.0);
    EXPECT_DOUBLE_EQ(same.difference.high, 0.0);
    EXPECT_DOUBLE_EQ(same.p_bootstrap, 1.0);
    EXPECT_THROW(ecgbench::paired_stratified_per_label(m.scores, {1.0}, m.labels, 3, auroc_metric, {10, 1}), std::invalid_argument);
}

}  // namespace
