// clip_loss (MERL's CLIP loss: symmetric cross-entropy over cosine similarities / τ, the two
// directions summed) against values computed by hand on 2 × 2 cases.
#include "ecgbench/losses.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

namespace {

at::Tensor pair(float a, float b, float c, float d) { return at::tensor({a, b, c, d}).view({2, 2}); }

// x = y = I, τ = 1: S = I; each row and each column is −log(e / (e + 1)) = log(1 + e^{−1}).
TEST(ClipLoss, MatchedOrthogonalPairsTau1) {
    const double expected = 2 * std::log(1 + std::exp(-1.0));  // 0.626523
    EXPECT_NEAR(ecgbench::clip_loss(pair(1, 0, 0, 1), pair(1, 0, 0, 1), 1.0).item<double>(), expected, 1e-6);
}

// x = I, y = [[1, 0], [1, 0]], τ = 0.5: S = [[2, 2], [0, 0]], diagonal (2, 0).
//   rows:    (log(2e²) − 2 + log 2) / 2 = log 2
//   columns: col 0 = (2, 0) at 0: log(1 + e^{−2}); col 1 = (2, 0) at 1: log(e² + 1) − 0; mean of both
// The two directions differ, so a transposition error in either shows.
TEST(ClipLoss, AsymmetricCaseSumsBothDirections) {
    const double rows = std::log(2.0);
    const double columns = (std::log(1 + std::exp(-2.0)) + std::log(std::exp(2.0) + 1)) / 2;  // 1.126928
    EXPECT_NEAR(ecgbench::clip_loss(pair(1, 0, 0, 1), pair(1, 0, 1, 0), 0.5).item<double>(), rows + columns, 1e-6);
    // Swapping x and y transposes S: the same two terms, so the same sum.
    EXPECT_NEAR(ecgbench::clip_loss(pair(1, 0, 1, 0), pair(1, 0, 0, 1), 0.5).item<double>(), rows + columns, 1e-6);
}

TEST(ClipLoss, RowsAreNormalisedAndOnePairCostsNothing) {
    const at::Tensor x = pair(3, 0, 0, 0.5), y = pair(1, 0, 0, 1);
    EXPECT_NEAR(ecgbench::clip_loss(x, y, 1.0).item<double>(), 2 * std::log(1 + std::exp(-1.0)), 1e-6);
    EXPECT_NEAR(ecgbench::clip_loss(at::tensor({1.0f, 2.0f}).view({1, 2}), at::tensor({-1.0f, 0.5f}).view({1, 2}), 0.07).item<double>(),
                0.0, 1e-7);
}

TEST(ClipLoss, RejectsBadShapesAndTemperature) {
    EXPECT_THROW(ecgbench::clip_loss(pair(1, 0, 0, 1), at::ones({3, 2}), 1.0), std::invalid_argument);
    EXPECT_THROW(ecgbench::clip_loss(pair(1, 0, 0, 1), pair(1, 0, 0, 1), 0.0), std::invalid_argument);
}

}  // namespace
