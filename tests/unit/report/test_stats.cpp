// Ranks, the Friedman test and the Nemenyi critical difference against hand-computed values and
// the published numbers of Demšar (2006): his worked example and his Table 5 of q_α.
#include "report/stats.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>
#include <vector>

using namespace ecgbench;

TEST(ReportStats, RanksShareTiesAndFollowTheDirection) {
    EXPECT_EQ(ranks({0.9, 0.8, 0.9, 0.7}, true), (std::vector<double>{1.5, 3, 1.5, 4}));
    EXPECT_EQ(ranks({1.0, 2.0, 2.0}, false), (std::vector<double>{1, 2.5, 2.5}));
    EXPECT_EQ(ranks({5.0, 5.0, 5.0}, true), (std::vector<double>{2, 2, 2}));
}

// Four evaluations, three methods (by hand): ranks (1,2,3), (2,1,3), (1,3,2), (1.5,1.5,3) average to
// 1.375, 1.875, 2.75; χ² = 12·4/(3·4) · (1.375² + 1.875² + 2.75² − 3·4²/4) = 4 · 0.96875 = 3.875;
// F = 3 · 3.875 / (4·2 − 3.875) = 2.8181…; with 2 degrees of freedom P(χ² ≥ x) = e^(−x/2).
TEST(ReportStats, AverageRanksAndFriedmanByHand) {
    const std::vector<std::vector<double>> blocks{{0.9, 0.8, 0.7}, {0.8, 0.9, 0.7}, {0.9, 0.7, 0.8}, {0.85, 0.85, 0.6}};
    const auto average = average_ranks(blocks, true);
    ASSERT_EQ(average.size(), 3u);
    EXPECT_DOUBLE_EQ(average[0], 1.375);
    EXPECT_DOUBLE_EQ(average[1], 1.875);
    EXPECT_DOUBLE_EQ(average[2], 2.75);
    const auto t = friedman_test(average, blocks.size());
    EXPECT_NEAR(t.chi_square, 3.875, 1e-12);
    EXPECT_NEAR(t.iman_davenport, 11.625 / 4.125, 1e-12);
    EXPECT_NEAR(t.p_chi_square, std::exp(-3.875 / 2), 1e-10);
    // Lower is better: the same values reversed give the mirrored ranks.
    const auto lower = average_ranks(blocks, false);
    EXPECT_DOUBLE_EQ(lower[0], 4 - 1.375);
    EXPECT_THROW(friedman_test({1.0}, 4), std::invalid_argument);
    EXPECT_THROW(average_ranks({{1, 2}, {1, 2, 3}}, true), std::invalid_argument);
}

TEST(ReportStats, ChiSquareTailMatchesTables) {
    EXPECT_NEAR(chi_square_upper_tail(3.841459, 1), 0.05, 1e-6);
    EXPECT_NEAR(chi_square_upper_tail(9.487729, 4), 0.05, 1e-6);
    EXPECT_NEAR(chi_square_upper_tail(23.209251, 10), 0.01, 1e-6);  // continued-fraction branch
    EXPECT_NEAR(chi_square_upper_tail(0.5, 6), 0.997839, 1e-6);       // series branch
    EXPECT_EQ(chi_square_upper_tail(0, 3), 1.0);
}

// Demšar 2006, section 3.2.4: four classifiers on 14 data sets with average ranks 3.143, 2.000,
// 2.893, 1.964 (rank sums 44, 28, 40.5, 27.5): χ²_F = 9.28, F_F = 3.69, CD(α = 0.05) = 1.25.
TEST(ReportStats, DemsarWorkedExample) {
    const auto t = friedman_test({44 / 14.0, 28 / 14.0, 40.5 / 14.0, 27.5 / 14.0}, 14);
    EXPECT_NEAR(t.chi_square, 9.28, 0.005);
    EXPECT_NEAR(t.iman_davenport, 3.69, 0.005);
    EXPECT_NEAR(nemenyi_critical_difference(4, 14, 0.05), 1.25, 0.005);
    EXPECT_NEAR(nemenyi_critical_difference(4, 14, 0.05), 2.569 * std::sqrt(20.0 / 84), 0.001);
}

// q_α from the studentized range (infinite df) / √2 reproduces Demšar's Table 5 (a), k = 2…10. The
// table divides 3-decimal studentized-range quantiles by √2 and rounds again, so it is good to
// ±0.001 (k = 3: 3.314 / √2 = 2.3434 → 2.343; the integral gives 2.3437); the quantiles themselves
// match the 3-decimal tables (3.314 for k = 3, 4.474 for k = 10).
TEST(ReportStats, NemenyiQMatchesDemsarTable) {
    const double q05[] = {1.960, 2.343, 2.569, 2.728, 2.850, 2.949, 3.031, 3.102, 3.164};
    const double q10[] = {1.645, 2.052, 2.291, 2.459, 2.589, 2.693, 2.780, 2.855, 2.920};
    for (std::size_t k = 2; k <= 10; ++k) {
        EXPECT_NEAR(nemenyi_q(k, 0.05), q05[k - 2], 1e-3) << "k = " << k;
        EXPECT_NEAR(nemenyi_q(k, 0.10), q10[k - 2], 1e-3) << "k = " << k;
    }
    EXPECT_NEAR(nemenyi_q(3, 0.05) * std::sqrt(2.0), 3.314, 6e-4);
    EXPECT_NEAR(nemenyi_q(10, 0.05) * std::sqrt(2.0), 4.474, 6e-4);
    // k = 2: the range of two normals is |Z1 − Z2| = √2 |Z|, so q = z_(1 − α/2) exactly.
    EXPECT_NEAR(nemenyi_q(2, 0.05), 1.959964, 1e-5);
    EXPECT_NEAR(normal_range_cdf(1e-9, 5), 0.0, 1e-9);
    EXPECT_NEAR(normal_range_cdf(12, 5), 1.0, 1e-9);
    EXPECT_THROW(nemenyi_q(1, 0.05), std::invalid_argument);
}
