// AUROC parity with sklearn.metrics.roc_auc_score on cases small enough to verify by hand.
#include "ecgbench/metrics.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <stdexcept>
#include <vector>

namespace {

using ecgbench::auroc;
using ecgbench::bootstrap_macro_auroc_ci;
using ecgbench::nanmean;
using ecgbench::per_class_auroc;

TEST(Auroc, PerfectSeparationIsOne) {
    EXPECT_DOUBLE_EQ(auroc({0.1, 0.2, 0.3, 0.9, 0.95}, {0, 0, 0, 1, 1}), 1.0);
}

TEST(Auroc, InvertedSeparationIsZero) {
    EXPECT_DOUBLE_EQ(auroc({0.9, 0.8, 0.1, 0.2}, {0, 0, 1, 1}), 0.0);
}

TEST(Auroc, AllScoresTiedIsOneHalf) {
    EXPECT_DOUBLE_EQ(auroc({0.3, 0.3, 0.3, 0.3, 0.3}, {0, 1, 1, 0, 1}), 0.5);
}

TEST(Auroc, SklearnDocumentationExample) {
    // The example from sklearn's roc_auc_score docstring / roc_curve guide: 0.75.
    EXPECT_DOUBLE_EQ(auroc({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}), 0.75);
}

TEST(Auroc, TiesCountHalf) {
    // positives {0.35, 0.4, 0.8}, negatives {0.1, 0.4}; pairwise wins:
    //   0.35: beats 0.1, loses to 0.4            -> 1
    //   0.4 : beats 0.1, ties 0.4 (counts 0.5)   -> 1.5
    //   0.8 : beats both                         -> 2
    // AUROC = 4.5 / (3 * 2) = 0.75. Same via average ranks: ranks 1, 2, 3.5, 3.5, 5; positives
    // 2 + 3.5 + 5 = 10.5; U = 10.5 - 3*4/2 = 4.5.
    EXPECT_DOUBLE_EQ(auroc({0.1, 0.4, 0.35, 0.8, 0.4}, {0, 0, 1, 1, 1}), 0.75);

    // A block of ties spanning both classes in the middle: positives {2, 2, 3}, negatives {1, 2}.
    //   2: beats 1, ties 2 -> 1.5 (twice) ; 3: beats both -> 2 ; total 5 / 6.
    EXPECT_DOUBLE_EQ(auroc({1, 2, 2, 2, 3}, {0, 0, 1, 1, 1}), 5.0 / 6.0);
}

TEST(Auroc, OrderOfRowsDoesNotMatter) {
    EXPECT_DOUBLE_EQ(auroc({0.8, 0.4, 0.1, 0.35, 0.4}, {1, 1, 0, 1, 0}), 0.75);
}

TEST(Auroc, OneClassIsNaN) {
    EXPECT_TRUE(std::isnan(auroc({0.1, 0.2, 0.3}, {1, 1, 1})));
    EXPECT_TRUE(std::isnan(auroc({0.1, 0.2, 0.3}, {0, 0, 0})));
    EXPECT_TRUE(std::isnan(auroc({}, {})));
}

TEST(Auroc, RejectsBadInput) {
    EXPECT_THROW(auroc({0.1, 0.2}, {0}), std::invalid_argument);
    EXPECT_THROW(auroc({0.1, 0.2}, {0, 2}), std::invalid_argument);
    EXPECT_THROW(auroc({0.1, std::nan("")}, {0, 1}), std::invalid_argument);
}

TEST(PerClassAuroc, ColumnsAreIndependentAndOneClassColumnIsNaN) {
    // Row-major [4, 3]: column 0 perfect, column 1 inverted, column 2 all negative.
    const std::vector<double> scores = {0.1, 0.9, 0.5,   //
                                        0.2, 0.8, 0.4,   //
                                        0.7, 0.3, 0.3,   //
                                        0.9, 0.1, 0.2};
    const std::vector<int> labels = {0, 0, 0,  //
                                     0, 0, 0,  //
                                     1, 1, 0,  //
                                     1, 1, 0};
    const auto per_class = per_class_auroc(scores, labels, 3);
    ASSERT_EQ(per_class.size(), 3u);
    EXPECT_DOUBLE_EQ(per_class[0], 1.0);
    EXPECT_DOUBLE_EQ(per_class[1], 0.0);
    EXPECT_TRUE(std::isnan(per_class[2]));
    EXPECT_DOUBLE_EQ(nanmean(per_class), 0.5);
}

TEST(PerClassAuroc, RejectsMismatchedShapes) {
    EXPECT_THROW(per_class_auroc({0.1, 0.2, 0.3}, {0, 1, 0}, 2), std::invalid_argument);
    EXPECT_THROW(per_class_auroc({0.1, 0.2}, {0, 1, 0}, 1), std::invalid_argument);
    EXPECT_TRUE(per_class_auroc({}, {}, 0).empty());
}

TEST(NanMean, SkipsNaNAndIsNaNWhenNothingLeft) {
    const double nan = std::nan("");
    EXPECT_DOUBLE_EQ(nanmean({1.0, nan, 0.5}), 0.75);
    EXPECT_TRUE(std::isnan(nanmean({nan, nan})));
    EXPECT_TRUE(std::isnan(nanmean({})));
}

/// n rows, 2 classes; scores are label + Gaussian noise so the true AUROC is about 0.76.
void noisy_problem(int n, std::uint64_t seed, std::vector<double>& scores, std::vector<int>& labels) {
    std::mt19937_64 engine(seed);
    std::normal_distribution<double> noise(0.0, 1.0);
    std::bernoulli_distribution coin(0.4);
    scores.clear();
    labels.clear();
    for (int i = 0; i < n; ++i) {
        for (int c = 0; c < 2; ++c) {
            const int y = coin(engine) ? 1 : 0;
            labels.push_back(y);
            scores.push_back(y + noise(engine) * 1.5);
        }
    }
}

TEST(BootstrapCi, ContainsPointEstimateAndIsReproducible) {
    std::vector<double> scores;
    std::vector<int> labels;
    noisy_problem(300, 7, scores, labels);
    const double point = nanmean(per_class_auroc(scores, labels, 2));
    const auto [low, high] = bootstrap_macro_auroc_ci(scores, labels, 2, 200, 42);
    EXPECT_LT(low, point);
    EXPECT_GT(high, point);
    EXPECT_GT(low, 0.5);
    EXPECT_LT(high, 1.0);

    const auto again = bootstrap_macro_auroc_ci(scores, labels, 2, 200, 42);
    EXPECT_EQ(again.first, low);
    EXPECT_EQ(again.second, high);
    const auto other_seed = bootstrap_macro_auroc_ci(scores, labels, 2, 200, 43);
    EXPECT_NE(other_seed.first, low);
}

TEST(BootstrapCi, NarrowsWithMoreRows) {
    std::vector<double> scores;
    std::vector<int> labels;
    noisy_problem(100, 11, scores, labels);
    const auto small = bootstrap_macro_auroc_ci(scores, labels, 2, 300, 1);
    noisy_problem(3000, 11, scores, labels);
    const auto large = bootstrap_macro_auroc_ci(scores, labels, 2, 300, 1);
    // Width scales like 1/sqrt(n): 30x the rows should give roughly 1/5.5 the width.
    EXPECT_LT(large.second - large.first, 0.5 * (small.second - small.first));
}

TEST(BootstrapCi, DegenerateInputsGiveNaN) {
    // One class everywhere: no draw is evaluable.
    const auto ci = bootstrap_macro_auroc_ci({0.1, 0.2, 0.3}, {1, 1, 1}, 1, 50, 0);
    EXPECT_TRUE(std::isnan(ci.first));
    EXPECT_TRUE(std::isnan(ci.second));
    const auto none = bootstrap_macro_auroc_ci({0.1, 0.9}, {0, 1}, 1, 0, 0);
    EXPECT_TRUE(std::isnan(none.first));
}

}  // namespace

// ---- average precision, threshold metrics, calibration, regression: hand-computed values ----

namespace {

TEST(AveragePrecision, SklearnDocumentationExample) {
    // Descending: 0.8 (+), 0.4 (−), 0.35 (+), 0.1 (−). At 0.8: P = 1, R = ½ → ½·1; at 0.4: R unchanged;
    // at 0.35: P = ⅔, R = 1 → ½·⅔; at 0.1: R unchanged. AP = ½ + ⅓ = 0.8333…
    EXPECT_DOUBLE_EQ(ecgbench::average_precision({0.1, 0.4, 0.35, 0.8}, {0, 0, 1, 1}), 0.5 + 1.0 / 3.0);
}

TEST(AveragePrecision, TiedScoresFormOneThreshold) {
    // 0.5 (+, −) together: P = ½, R = ½ → ¼; 0.2 (+): P = ⅔, R = 1 → ½·⅔. AP = ¼ + ⅓.
    EXPECT_DOUBLE_EQ(ecgbench::average_precision({0.5, 0.5, 0.2}, {1, 0, 1}), 0.25 + 1.0 / 3.0);
    EXPECT_TRUE(std::isnan(ecgbench::average_precision({0.5, 0.2}, {0, 0})));
}

TEST(AveragedMetric, OneClassColumnsAreUndefinedAndCountedNeverHalf) {
    // Class 0: AUROC 1; class 1 has only negatives: undefined, left out of macro and weighted.
    const std::vector<double> scores{0.9, 0.1, 0.2, 0.3, 0.8, 0.4};
    const std::vector<int> labels{1, 0, 0, 0, 1, 0};
    const auto m = ecgbench::averaged_auroc(scores, labels, 2);
    EXPECT_EQ(m.undefined_classes, 1);
    EXPECT_DOUBLE_EQ(m.macro, 1.0);
    EXPECT_DOUBLE_EQ(m.weighted, 1.0);
    EXPECT_TRUE(std::isnan(m.per_class[1]));
    // Micro: the six entries as one problem: positives {0.9, 0.8}, negatives {0.1, 0.2, 0.3, 0.4}: 1.
    EXPECT_DOUBLE_EQ(m.micro, 1.0);
}

TEST(ThresholdMetrics, CountsAndRatesByHand) {
    // Scores ≥ 0.5 predicted positive: {1, 1, 1, 0, 0} against {1, 0, 1, 1, 0}: TP 2, FP 1, TN 1, FN 1.
    const auto c = ecgbench::counts_at_threshold({0.9, 0.8, 0.7, 0.3, 0.2}, {1, 0, 1, 1, 0}, 0.5);
    EXPECT_EQ(c.true_positives, 2);
    EXPECT_EQ(c.false_positives, 1);
    EXPECT_EQ(c.true_negatives, 1);
    EXPECT_EQ(c.false_negatives, 1);
    EXPECT_DOUBLE_EQ(c.sensitivity(), 2.0 / 3.0);
    EXPECT_DOUBLE_EQ(c.specificity(), 0.5);
    EXPECT_DOUBLE_EQ(c.precision(), 2.0 / 3.0);
    EXPECT_DOUBLE_EQ(c.f1(), 4.0 / 6.0);
    EXPECT_DOUBLE_EQ(c.accuracy(), 0.6);
    EXPECT_DOUBLE_EQ(c.balanced_accuracy(), 7.0 / 12.0);
    // No predicted positive: precision undefined (sklearn warns and says 0).
    EXPECT_TRUE(std::isnan(ecgbench::counts_at_threshold({0.1, 0.2}, {1, 0}, 0.5).precision()));
}

TEST(ThresholdMetrics, BestF1ThresholdByHand) {
    // 3 positives. F1 = 2TP / (predicted + 3) at each threshold from the top:
    //   0.9: 2/4 = .5; 0.8: 2/5 = .4; 0.7: 4/6 = .667; 0.3: 6/7 = .857; 0.2: 6/8 = .75 → 0.3.
    EXPECT_DOUBLE_EQ(ecgbench::best_f1_threshold({0.9, 0.8, 0.7, 0.3, 0.2}, {1, 0, 1, 1, 0}), 0.3);
    EXPECT_TRUE(std::isnan(ecgbench::best_f1_threshold({0.9, 0.8}, {0, 0})));
}

TEST(Calibration, ExpectedCalibrationErrorByHand) {
    // 10 bins. Bin 1: {0.12, 0.15}, outcomes {0, 1}: |1 − 0.27| = 0.73. Bin 8: {0.82}, outcome 1:
    // |1 − 0.82| = 0.18. Bin 9: {0.95, 1.0 (last bin is closed)}, outcomes {1, 0}: |1 − 1.95| = 0.95.
    // ECE = (0.73 + 0.18 + 0.95) / 5 = 0.372.
    EXPECT_NEAR(ecgbench::expected_calibration_error({0.12, 0.15, 0.82, 0.95, 1.0}, {0, 1, 1, 1, 0}, 10), 0.372, 1e-12);
    EXPECT_NEAR(ecgbench::expected_calibration_error({0.0, 1.0}, {0, 1}, 10), 0.0, 1e-12);
    EXPECT_THROW(ecgbench::expected_calibration_error({1.5}, {1}, 10), std::invalid_argument);
}

TEST(BalancedAccuracy, MeanRecallOverClassesPresent) {
    // Recalls: class 0 ½, class 1 ⅔, class 2 1; class 3 absent from the truth (left out).
    EXPECT_DOUBLE_EQ(ecgbench::balanced_accuracy({0, 1, 1, 1, 0, 2}, {0, 0, 1, 1, 1, 2}, 4), (0.5 + 2.0 / 3.0 + 1.0) / 3.0);
    EXPECT_THROW(ecgbench::balanced_accuracy({0, 5}, {0, 1}, 4), std::invalid_argument);
}

TEST(RegressionMetrics, ByHand) {
    // Errors 0, 0, −1: MAE ⅓, RMSE √⅓. Target mean 7/3, SS_tot = (16 + 1 + 25)/9 = 42/9, SS_res = 1:
    // R² = 1 − 9/42. Pearson: prediction deviations −1, 0, 1, cross 3, r = 3 / √(2 · 42/9).
    const auto m = ecgbench::regression_metrics({1, 2, 3}, {1, 2, 4});
    EXPECT_DOUBLE_EQ(m.mae, 1.0 / 3.0);
    EXPECT_DOUBLE_EQ(m.rmse, std::sqrt(1.0 / 3.0));
    EXPECT_DOUBLE_EQ(m.r2, 1.0 - 9.0 / 42.0);
    EXPECT_DOUBLE_EQ(m.pearson_r, 3.0 / std::sqrt(2.0 * 42.0 / 9.0));
    const auto constant = ecgbench::regression_metrics({1, 2}, {3, 3});
    EXPECT_TRUE(std::isnan(constant.r2));
    EXPECT_TRUE(std::isnan(constant.pearson_r));
    EXPECT_THROW(ecgbench::regression_metrics({1, std::nan("")}, {1, 2}), std::invalid_argument);
}

}  // namespace

TEST(ConfusionMatrix, BeatClassMetricsByHand) {
    // truth     0 0 0 0 1 1 1 2 2      (class 3 absent from the truth, but predicted once)
    // predicted 0 0 1 2 1 1 0 2 3
    // rows = truth: [2 1 1 0 | 1 2 0 0 | 0 0 1 1 | 0 0 0 0]; column sums (predicted) 3 3 2 1.
    const auto m = ecgbench::confusion_matrix({0, 0, 1, 2, 1, 1, 0, 2, 3}, {0, 0, 0, 0, 1, 1, 1, 2, 2}, 4);
    EXPECT_EQ(m.count(0, 0), 2);
    EXPECT_EQ(m.count(1, 0), 1);
    EXPECT_EQ(m.count(2, 3), 1);
    EXPECT_EQ(m.support(0), 4);
    EXPECT_EQ(m.predicted(3), 1);
    EXPECT_EQ(m.total(), 9);
    // Se = TP / support: 2/4, 2/3, 1/2; class 3 absent: undefined, never 0.
    EXPECT_DOUBLE_EQ(m.sensitivity(0), 0.5);
    EXPECT_DOUBLE_EQ(m.sensitivity(1), 2.0 / 3.0);
    EXPECT_DOUBLE_EQ(m.sensitivity(2), 0.5);
    EXPECT_TRUE(std::isnan(m.sensitivity(3)));
    // +P = TP / predicted: 2/3, 2/3, 1/2, and 0/1 for the absent class that was predicted.
    EXPECT_DOUBLE_EQ(m.precision(0), 2.0 / 3.0);
    EXPECT_DOUBLE_EQ(m.precision(1), 2.0 / 3.0);
    EXPECT_DOUBLE_EQ(m.precision(2), 0.5);
    EXPECT_DOUBLE_EQ(m.precision(3), 0.0);
    // F1 = 2TP / (support + predicted): 4/7, 4/6, 2/4; absent class NaN.
    EXPECT_DOUBLE_EQ(m.f1(0), 4.0 / 7.0);
    EXPECT_DOUBLE_EQ(m.f1(1), 2.0 / 3.0);
    EXPECT_DOUBLE_EQ(m.f1(2), 0.5);
    EXPECT_TRUE(std::isnan(m.f1(3)));
    // sklearn f1_score(y_true, y_pred, labels=[0, 1, 2], average="macro").
    EXPECT_DOUBLE_EQ(m.macro_f1(), (4.0 / 7.0 + 2.0 / 3.0 + 0.5) / 3.0);
    EXPECT_DOUBLE_EQ(m.accuracy(), 5.0 / 9.0);
    EXPECT_EQ(m.absent_classes(), 1);
    // A class present but never predicted: +P undefined, F1 0.
    const auto never = ecgbench::confusion_matrix({0, 0}, {0, 1}, 2);
    EXPECT_TRUE(std::isnan(never.precision(1)));
    EXPECT_DOUBLE_EQ(never.f1(1), 0.0);
    EXPECT_THROW(ecgbench::confusion_matrix({0, 4}, {0, 1}, 4), std::invalid_argument);
    EXPECT_THROW(ecgbench::confusion_matrix({0}, {0, 1}, 4), std::invalid_argument);
}
