// The shared SSL losses against hand-computed values (NT-Xent also against a direct loop
// transcription of its formula): NT-Xent, CLEF's weighted NT-Xent and risk weights, the
// multi-positive loss of CLOCS with its positive masks, BYOL's regression loss, and the masked-token
// losses (MSE over tokens, JEPA's smooth L1, per-patch normalised targets).
#include "ecgbench/losses.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

namespace {

using ecgbench::byol_regression_loss;
using ecgbench::multi_positive_nt_xent;
using ecgbench::nt_xent_loss;
using ecgbench::risk_difference_weights;
using ecgbench::RiskWeighting;
using ecgbench::same_group_mask;
using ecgbench::weighted_nt_xent_loss;

double value(const at::Tensor& t) { return t.item<double>(); }

at::Tensor rows(std::initializer_list<std::initializer_list<float>> values) {
    std::vector<float> flat;
    std::int64_t n = 0, d = 0;
    for (const auto& row : values) {
        d = static_cast<std::int64_t>(row.size());
        flat.insert(flat.end(), row.begin(), row.end());
        ++n;
    }
    return at::tensor(flat).view({n, d});
}

// Direct transcription of the documented formula in double precision, one anchor at a time.
double reference_nt_xent(const at::Tensor& z1, const at::Tensor& z2, double tau) {
    const at::Tensor z = at::cat({z1, z2}).to(at::kDouble);
    const std::int64_t m = z.size(0), n = m / 2;
    const auto acc = z.accessor<double, 2>();
    auto cosine = [&](std::int64_t i, std::int64_t k) {
        double dot = 0, ni = 0, nk = 0;
        for (std::int64_t c = 0; c < z.size(1); ++c) {
            dot += acc[i][c] * acc[k][c];
            ni += acc[i][c] * acc[i][c];
            nk += acc[k][c] * acc[k][c];
        }
        return dot / std::sqrt(ni * nk);
    };
    double total = 0;
    for (std::int64_t i = 0; i < m; ++i) {
        const std::int64_t pos = i < n ? i + n : i - n;
        double denominator = 0;
        for (std::int64_t k = 0; k < m; ++k) {
            if (k != i) denominator += std::exp(cosine(i, k) / tau);
        }
        total += -std::log(std::exp(cosine(i, pos) / tau) / denominator);
    }
    return total / static_cast<double>(m);
}

// N = 2, D = 2, a = (1, 0), b = (0, 1); z1 = [a, b], z2 = [a, b]: each view equals its partner and
// is orthogonal to the other record. Stacked z = [a, b, a, b]; for anchor 0 (a) the candidates
// k ≠ 0 have cosines b:0, a:1 (the positive), b:0, so with τ = 1
//   loss_0 = −log(e^1 / (e^0 + e^1 + e^0)) = log(e + 2) − 1 = log(4.718281828…) − 1 = 0.551444714,
// and by symmetry every anchor has the same loss, so the mean is 0.551444714.
TEST(NtXent, IdenticalViewsOrthogonalRecordsTau1) {
    const at::Tensor z = rows({{1, 0}, {0, 1}});
    EXPECT_NEAR(value(nt_xent_loss(z, z, 1.0)), 0.5514447139, 1e-6);
}

// Same inputs, τ = 0.5: logits are cosine / 0.5, i.e. positive 2, negatives 0, so
//   loss = −log(e^2 / (1 + e^2 + 1)) = log(e^2 + 2) − 2 = log(9.389056099) − 2 = 0.239544766.
TEST(NtXent, IdenticalViewsOrthogonalRecordsTauHalf) {
    const at::Tensor z = rows({{1, 0}, {0, 1}});
    EXPECT_NEAR(value(nt_xent_loss(z, z, 0.5)), 0.2395447662, 1e-6);
}

// Adversarial pairing: z1 = [a, b], z2 = [b, a], so each positive is orthogonal to its anchor
// and one negative is identical. Stacked [a, b, b, a]; anchor 0 (a): candidates b:0, b:0 (the
// positive), a:1. τ = 1: loss = −log(e^0 / (1 + 1 + e)) = log(2 + e) = 1.551444714.
// τ = 0.5: loss = −log(1 / (1 + 1 + e^2)) = log(2 + e^2) = 2.239544766.
TEST(NtXent, OrthogonalPositivesHandValues) {
    const at::Tensor z1 = rows({{1, 0}, {0, 1}});
    const at::Tensor z2 = rows({{0, 1}, {1, 0}});
    EXPECT_NEAR(value(nt_xent_loss(z1, z2, 1.0)), 1.5514447139, 1e-6);
    EXPECT_NEAR(value(nt_xent_loss(z1, z2, 0.5)), 2.2395447662, 1e-6);
}

// N = 1: each anchor's only candidate is its positive, so the softmax is 1 and the loss is 0,
// whatever the vectors are.
TEST(NtXent, SinglePairIsZero) {
    EXPECT_NEAR(value(nt_xent_loss(rows({{1, 2, 3}}), rows({{-3, 0.5, 1}}), 0.1)), 0.0, 1e-6);
}

TEST(NtXent, MatchesDirectFormulaOnRandomInputs) {
    at::manual_seed(3);
    const at::Tensor z1 = at::randn({5, 7});
    const at::Tensor z2 = at::randn({5, 7});
    for (double tau : {0.07, 0.5, 2.0}) {
        EXPECT_NEAR(value(nt_xent_loss(z1, z2, tau)), reference_nt_xent(z1, z2, tau), 1e-4) << "tau " << tau;
    }
}

// Rows are L2-normalised, so rescaling any row (or all) leaves the loss unchanged.
TEST(NtXent, InvariantToInputScaling) {
    at::manual_seed(4);
    const at::Tensor z1 = at::randn({6, 4});
    const at::Tensor z2 = at::randn({6, 4});
    const double base = value(nt_xent_loss(z1, z2, 0.2));
    EXPECT_NEAR(value(nt_xent_loss(z1 * 37.0, z2 * 0.01, 0.2)), base, 1e-5);
    const at::Tensor row_scales = at::rand({6, 1}) * 10 + 0.1;
    EXPECT_NEAR(value(nt_xent_loss(z1 * row_scales, z2, 0.2)), base, 1e-5);
}

// Small τ makes logits large (1/0.01 = 100); the logsumexp form must stay finite where a naive
// exp() would overflow float32 (e^100 > 3.4e38).
TEST(NtXent, StableAtSmallTemperature) {
    const at::Tensor z = rows({{1, 0}, {0, 1}});
    const double loss = value(nt_xent_loss(z, z, 0.01));
    EXPECT_TRUE(std::isfinite(loss));
    EXPECT_NEAR(loss, 0.0, 1e-6);  // log(e^100 + 2) − 100 ≈ 2e−44
}

TEST(NtXent, GradientsAreFinite) {
    at::manual_seed(5);
    const at::Tensor z1 = at::randn({8, 16}).requires_grad_(true);
    const at::Tensor z2 = at::randn({8, 16}).requires_grad_(true);
    const at::Tensor loss = nt_xent_loss(z1, z2, 0.1);
    loss.backward();
    ASSERT_TRUE(z1.grad().defined());
    ASSERT_TRUE(z2.grad().defined());
    EXPECT_TRUE(z1.grad().isfinite().all().item<bool>());
    EXPECT_TRUE(z2.grad().isfinite().all().item<bool>());
    EXPECT_GT(z1.grad().abs().sum().item<double>(), 0.0);

    // Identical views: the masked diagonal (−inf) must not leak NaN into the gradient.
    const at::Tensor same = at::randn({4, 3}).requires_grad_(true);
    nt_xent_loss(same, same, 0.5).backward();
    EXPECT_TRUE(same.grad().isfinite().all().item<bool>());
}

TEST(NtXent, RejectsBadArguments) {
    const at::Tensor z = rows({{1, 0}, {0, 1}});
    EXPECT_THROW(nt_xent_loss(z, z, 0.0), std::invalid_argument);
    EXPECT_THROW(nt_xent_loss(z, z, -1.0), std::invalid_argument);
    EXPECT_THROW(nt_xent_loss(z, rows({{1, 0}}), 1.0), std::invalid_argument);
    EXPECT_THROW(nt_xent_loss(at::zeros({0, 2}), at::zeros({0, 2}), 1.0), std::invalid_argument);
    EXPECT_THROW(nt_xent_loss(at::zeros({2}), at::zeros({2}), 1.0), std::invalid_argument);
}

// ---- weighted NT-Xent (CLEF) ----

// All weights 1 is NT-Xent to the last bit (the same operations, log 1 = 0 added).
TEST(WeightedNtXent, OnesEqualNtXentExactly) {
    at::manual_seed(6);
    const at::Tensor z1 = at::randn({6, 5});
    const at::Tensor z2 = at::randn({6, 5});
    for (double tau : {0.1, 1.0}) {
        EXPECT_EQ(value(weighted_nt_xent_loss(z1, z2, tau, at::ones({6, 6}))), value(nt_xent_loss(z1, z2, tau))) << tau;
    }
}

// The orthogonal pair of NtXent.IdenticalViewsOrthogonalRecordsTau1 (z = [a, b, a, b], τ = 1):
// every anchor has its positive at cosine 1 and the two rows of the other record at cosine 0.
// Off-diagonal weight w: loss = −log(e / (e + 2w)).
//   w = 0.5: log(e + 1) − 1 = log(3.718281828) − 1 = 0.313261688
//   w = 0:   −log(e / e) = 0 (no negatives left)
// Asymmetric W = [[·, 0.5], [2, ·]]: record 0's two anchors 0.313261688 each, record 1's
//   log(e + 4) − 1 = log(6.718281828) − 1 = 0.904832442 each; mean (2·0.313261688 + 2·0.904832442)/4
//   = 0.609047065.
TEST(WeightedNtXent, HandValues) {
    const at::Tensor z = rows({{1, 0}, {0, 1}});
    EXPECT_NEAR(value(weighted_nt_xent_loss(z, z, 1.0, rows({{7, 0.5}, {0.5, 7}}))), 0.3132616875, 1e-6);  // diagonal unused
    EXPECT_NEAR(value(weighted_nt_xent_loss(z, z, 1.0, rows({{1, 0}, {0, 1}}))), 0.0, 1e-6);
    EXPECT_NEAR(value(weighted_nt_xent_loss(z, z, 1.0, rows({{1, 0.5}, {2, 1}}))), 0.6090470645, 1e-6);
}

TEST(WeightedNtXent, RejectsBadWeights) {
    const at::Tensor z = rows({{1, 0}, {0, 1}});
    EXPECT_THROW(weighted_nt_xent_loss(z, z, 1.0, at::ones({3, 3})), std::invalid_argument);
    EXPECT_THROW(weighted_nt_xent_loss(z, z, 1.0, rows({{1, -0.5}, {1, 1}})), std::invalid_argument);
    EXPECT_THROW(weighted_nt_xent_loss(z, z, 1.0, rows({{1, NAN}, {1, 1}})), std::invalid_argument);
    EXPECT_THROW(weighted_nt_xent_loss(z, z, 1.0, at::Tensor()), std::invalid_argument);
}

// Zero weights give −inf log-weights: the loss and its gradient must stay finite.
TEST(WeightedNtXent, ZeroWeightsKeepGradientsFinite) {
    at::manual_seed(7);
    const at::Tensor z1 = at::randn({4, 3}).requires_grad_(true);
    const at::Tensor z2 = at::randn({4, 3}).requires_grad_(true);
    const at::Tensor loss = weighted_nt_xent_loss(z1, z2, 0.2, at::zeros({4, 4}));
    loss.backward();
    EXPECT_TRUE(std::isfinite(value(loss)));
    EXPECT_TRUE(z1.grad().isfinite().all().item<bool>());
    EXPECT_TRUE(z2.grad().isfinite().all().item<bool>());
}

// risk = [0, 1, NaN, 3], scale 1, temperature 2 → x = |Δ|/2: x(0,1) = 0.5, x(0,3) = 1.5, x(1,3) = 1.
//   linear:      min(1, x) → 0.5, 1, 1
//   exponential: 1 − e^{−0.5} = 0.393469340, 1 − e^{−1.5} = 0.776869840, 1 − e^{−1} = 0.632120559
//   sigmoid:     tanh(x/2) → tanh(0.25) = 0.244918662
// Pairs with record 2 (NaN) are exactly 1; min_weight 0.2 maps 0.5 to 0.2 + 0.8·0.5 = 0.6.
TEST(RiskWeights, HandValuesAndMissingFallback) {
    const at::Tensor risk = at::tensor({0.0f, 1.0f, NAN, 3.0f});
    const at::Tensor linear = risk_difference_weights(risk, RiskWeighting::Linear, 1.0, 2.0, 0.0);
    EXPECT_NEAR(linear[0][1].item<double>(), 0.5, 1e-6);
    EXPECT_NEAR(linear[1][0].item<double>(), 0.5, 1e-6);
    EXPECT_NEAR(linear[0][3].item<double>(), 1.0, 1e-6);
    EXPECT_NEAR(linear[1][3].item<double>(), 1.0, 1e-6);
    for (int k = 0; k < 4; ++k) {
        EXPECT_EQ(linear[2][k].item<double>(), 1.0) << k;
        EXPECT_EQ(linear[k][2].item<double>(), 1.0) << k;
        EXPECT_EQ(linear[k][k].item<double>(), 1.0) << k;
    }
    const at::Tensor exponential = risk_difference_weights(risk, RiskWeighting::Exponential, 1.0, 2.0, 0.0);
    EXPECT_NEAR(exponential[0][1].item<double>(), 0.3934693403, 1e-6);
    EXPECT_NEAR(exponential[0][3].item<double>(), 0.7768698399, 1e-6);
    EXPECT_NEAR(exponential[1][3].item<double>(), 0.6321205588, 1e-6);
    EXPECT_NEAR(risk_difference_weights(risk, RiskWeighting::Sigmoid, 1.0, 2.0, 0.0)[0][1].item<double>(), 0.2449186624, 1e-6);
    EXPECT_NEAR(risk_difference_weights(risk, RiskWeighting::Linear, 1.0, 2.0, 0.2)[0][1].item<double>(), 0.6, 1e-6);
    // Scale divides like the temperature: scale 2, temperature 1 is the same x.
    EXPECT_TRUE(at::allclose(risk_difference_weights(risk, RiskWeighting::Linear, 2.0, 1.0, 0.0), linear));
    EXPECT_TRUE(at::equal(risk_difference_weights(risk, RiskWeighting::None, 1.0, 2.0, 0.0), at::ones({4, 4})));
    EXPECT_THROW(risk_difference_weights(risk, RiskWeighting::Linear, 0.0, 1.0, 0.0), std::invalid_argument);
    EXPECT_THROW(risk_difference_weights(risk, RiskWeighting::Linear, 1.0, 1.0, 1.5), std::invalid_argument);
}

// Without metadata (every risk NaN) the weights are all 1 and the loss is NT-Xent exactly; with
// metadata, equal risks (weight min_weight < 1) lower the loss below NT-Xent.
TEST(RiskWeights, WithoutMetadataTheLossIsNtXentExactly) {
    at::manual_seed(8);
    const at::Tensor z1 = at::randn({5, 4});
    const at::Tensor z2 = at::randn({5, 4});
    const at::Tensor missing = at::full({5}, NAN);
    const at::Tensor w = risk_difference_weights(missing, RiskWeighting::Exponential, 3.0, 0.5, 0.1);
    EXPECT_EQ(value(weighted_nt_xent_loss(z1, z2, 0.1, w)), value(nt_xent_loss(z1, z2, 0.1)));
    const at::Tensor equal = risk_difference_weights(at::full({5}, 7.0f), RiskWeighting::Exponential, 3.0, 0.5, 0.1);
    EXPECT_LT(value(weighted_nt_xent_loss(z1, z2, 0.1, equal)), value(nt_xent_loss(z1, z2, 0.1)));
}

// ---- multi-positive contrastive loss (CLOCS) and its masks ----

// groups [7, 3, 7, 7, 3]: 0, 2, 3 are mutual positives, as are 1 and 4; never an anchor itself.
TEST(SameGroupMask, HandMask) {
    const at::Tensor mask = same_group_mask(at::tensor({7, 3, 7, 7, 3}, at::kLong));
    const at::Tensor expected = at::tensor({0, 0, 1, 1, 0,  //
                                            0, 0, 0, 0, 1,  //
                                            1, 0, 0, 1, 0,  //
                                            1, 0, 1, 0, 0,  //
                                            0, 1, 0, 0, 0},
                                           at::kInt)
                                    .view({5, 5})
                                    .to(at::kBool);
    EXPECT_TRUE(at::equal(mask, expected)) << mask;
}

// Two views of N records stacked as [z1; z2] with groups [0…N−1, 0…N−1]: the only positive of an
// anchor is its other view, so the loss is NT-Xent.
TEST(MultiPositiveNtXent, TwoViewsEqualNtXent) {
    at::manual_seed(9);
    const at::Tensor z1 = at::randn({6, 5});
    const at::Tensor z2 = at::randn({6, 5});
    const at::Tensor groups = at::arange(6, at::kLong).repeat({2});
    for (double tau : {0.1, 0.5}) {
        EXPECT_NEAR(value(multi_positive_nt_xent(at::cat({z1, z2}), same_group_mask(groups), tau)), value(nt_xent_loss(z1, z2, tau)),
                    1e-5);
    }
}

// a = (1, 0), b = (0, 1), c = (1, 1)/√2, τ = 1.
// Case 1: z = [a, a, b], groups [0, 0, 1]. Anchors 0 and 1: positive at cosine 1, b at 0:
//   −log(e / (e + 1)) = log(3.718281828) − 1 = 0.313261688; anchor 2 has no positive (left out).
// Case 2: z = [a, a, c, b], groups [0, 0, 0, 1]. Anchor 0: candidates a (1, pos), c (0.707107, pos),
//   b (0); L = log(e + e^0.707107 + 1) = log(2.718282 + 2.028115 + 1) = log(5.746397) = 1.748573;
//   loss_0 = −½[(1 − L) + (0.707107 − L)] = L − 0.853553 = 0.895020 (anchor 1 alike). Anchor 2 (c):
//   every candidate at 0.707107, so loss_2 = log 3 = 1.098612. Anchor 3: none. Mean over the three
//   anchors with positives: (2·0.895020 + 1.098612)/3 = 0.962884.
TEST(MultiPositiveNtXent, HandValues) {
    const float r = 1.0f / std::sqrt(2.0f);
    const at::Tensor g1 = at::tensor({0, 0, 1}, at::kLong);
    EXPECT_NEAR(value(multi_positive_nt_xent(rows({{1, 0}, {1, 0}, {0, 1}}), same_group_mask(g1), 1.0)), 0.3132616875, 1e-6);
    const at::Tensor g2 = at::tensor({0, 0, 0, 1}, at::kLong);
    EXPECT_NEAR(value(multi_positive_nt_xent(rows({{1, 0}, {1, 0}, {r, r}, {0, 1}}), same_group_mask(g2), 1.0)), 0.9628838469,
                1e-5);
}

TEST(MultiPositiveNtXent, GradientsFiniteAndBadArgumentsRejected) {
    at::manual_seed(10);
    const at::Tensor z = at::randn({8, 4}).requires_grad_(true);
    const at::Tensor groups = at::tensor({0, 0, 1, 1, 1, 2, 3, 3}, at::kLong);  // row 5 has no positive
    multi_positive_nt_xent(z, same_group_mask(groups), 0.1).backward();
    EXPECT_TRUE(z.grad().isfinite().all().item<bool>());
    EXPECT_THROW(multi_positive_nt_xent(at::randn({3, 2}), same_group_mask(at::arange(3, at::kLong)), 0.1), std::invalid_argument);
    EXPECT_THROW(multi_positive_nt_xent(at::randn({3, 2}), at::ones({2, 2}, at::kBool), 0.1), std::invalid_argument);
    EXPECT_THROW(multi_positive_nt_xent(at::randn({3, 2}), at::ones({3, 3}, at::kBool), 0.0), std::invalid_argument);
}

// ---- BYOL regression loss ----

// p = [(1, 0), (0, 2)], z = [(1, 1), (0, −3)]: cosines 1/√2 and −1, so
//   row 0: 2 − 2/√2 = 2 − 1.414214 = 0.585786;  row 1: 2 + 2 = 4;  mean 2.292893.
// The target gets no gradient (stop-gradient inside the loss).
TEST(ByolRegression, HandValueAndStopGradient) {
    const at::Tensor p = rows({{1, 0}, {0, 2}}).requires_grad_(true);
    const at::Tensor z = rows({{1, 1}, {0, -3}}).requires_grad_(true);
    const at::Tensor loss = byol_regression_loss(p, z);
    EXPECT_NEAR(value(loss), 2.2928932188, 1e-6);
    loss.backward();
    EXPECT_TRUE(p.grad().defined());
    EXPECT_FALSE(z.grad().defined());
    // Scale-invariant (rows are normalised) and 0 for aligned rows.
    EXPECT_NEAR(value(byol_regression_loss(rows({{3, 0}}), rows({{0.5, 0}}))), 0.0, 1e-6);
    EXPECT_THROW(byol_regression_loss(rows({{1, 0}}), rows({{1, 0, 0}})), std::invalid_argument);
}

// InfoNCE, τ = 1, predictions = targets = [a, b] (a = (1, 0), b = (0, 1)): the score matrix P·Zᵀ is
// the identity, so each row has positive logit 1 and one negative 0:
//   loss = log(e^1 + e^0) − 1 = log(3.718281828) − 1 = 0.313261687 for both rows.
TEST(InfoNce, OrthogonalTargetsTau1) {
    const at::Tensor p = rows({{1, 0}, {0, 1}});
    EXPECT_NEAR(value(ecgbench::info_nce_loss(p, p, 1.0)), 0.3132616875, 1e-6);
}

// Scores are raw dot products, not cosines. P = [(2, 0), (0, 1)], Z = [(1, 0), (1, 1)]:
//   P·Zᵀ = [[2, 2], [0, 1]]; row 0 (positive 2, negative 2): log(2e²) − 2 = log 2 = 0.693147181;
//   row 1 (positive 1, negative 0): log(1 + e) − 1 = 0.313261687; mean 0.503204434.
// τ = 0.5 doubles the logits: row 0 [4, 4] → log 2; row 1 [0, 2] → log(1 + e²) − 2
//   = log(8.389056099) − 2 = 0.126928011; mean (0.693147181 + 0.126928011) / 2 = 0.410037596.
TEST(InfoNce, DotProductScoresHandValues) {
    const at::Tensor p = rows({{2, 0}, {0, 1}});
    const at::Tensor z = rows({{1, 0}, {1, 1}});
    EXPECT_NEAR(value(ecgbench::info_nce_loss(p, z, 1.0)), 0.5032044340, 1e-6);
    EXPECT_NEAR(value(ecgbench::info_nce_loss(p, z, 0.5)), 0.4100375960, 1e-6);
}

// Separate sets [G, N, D]: negatives come only from the prediction's own set. Stacking the two
// examples above as G = 2 sets gives the mean of their four rows, (2 · 0.313261687 + 0.693147181 +
// 0.313261687) / 4 = 0.408233061; flattened into one set of 4 rows each row would see 3 negatives.
TEST(InfoNce, SeparateSetsAveragePerSetLosses) {
    const at::Tensor p = at::stack({rows({{1, 0}, {0, 1}}), rows({{2, 0}, {0, 1}})});
    const at::Tensor z = at::stack({rows({{1, 0}, {0, 1}}), rows({{1, 0}, {1, 1}})});
    EXPECT_NEAR(value(ecgbench::info_nce_loss(p, z, 1.0)), 0.4082330610, 1e-6);
    EXPECT_GT(std::abs(value(ecgbench::info_nce_loss(p.view({4, 2}), z.view({4, 2}), 1.0)) - 0.4082330610), 0.01);
}

// One pair: the positive is the only candidate, so the loss is 0.
TEST(InfoNce, SinglePairIsZero) {
    EXPECT_NEAR(value(ecgbench::info_nce_loss(rows({{1, 2}}), rows({{-3, 5}}))), 0.0, 1e-6);
}

TEST(InfoNce, MatchesDirectFormulaAndRejectsBadArguments) {
    at::manual_seed(6);
    const at::Tensor p = at::randn({5, 3}).to(at::kDouble), z = at::randn({5, 3}).to(at::kDouble);
    const auto pa = p.accessor<double, 2>(), za = z.accessor<double, 2>();
    double total = 0;
    for (std::int64_t i = 0; i < 5; ++i) {
        double denominator = 0, positive = 0;
        for (std::int64_t j = 0; j < 5; ++j) {
            double dot = 0;
            for (std::int64_t c = 0; c < 3; ++c) dot += pa[i][c] * za[j][c];
            denominator += std::exp(dot / 0.3);
            if (j == i) positive = std::exp(dot / 0.3);
        }
        total += -std::log(positive / denominator);
    }
    EXPECT_NEAR(value(ecgbench::info_nce_loss(p, z, 0.3)), total / 5, 1e-9);
    EXPECT_THROW(ecgbench::info_nce_loss(p, z, 0.0), std::invalid_argument);
    EXPECT_THROW(ecgbench::info_nce_loss(p, z.narrow(0, 0, 4), 1.0), std::invalid_argument);
    EXPECT_THROW(ecgbench::info_nce_loss(at::zeros({0, 3}), at::zeros({0, 3})), std::invalid_argument);
    EXPECT_THROW(ecgbench::info_nce_loss(at::zeros({2, 2, 2, 2}), at::zeros({2, 2, 2, 2})), std::invalid_argument);
}

// prediction [[1, 2], [3, 4]] (one record, 2 leads × 2 samples) against zeros:
//   all leads present: (1 + 4 + 9 + 16) / 4 = 7.5;
//   lead 2 absent: (1 + 4) / (1 lead · 2 samples) = 2.5 (the absent lead's 9 and 16 are ignored);
//   no lead present: 0 (nothing to reconstruct).
// Two records, [[1, 2], [3, 4]] with lead 1 present and [[2, 2], [0, 0]] with both: (1 + 4 + 4 + 4
//   + 0 + 0) / (3 leads · 2 samples) = 13 / 6 = 2.1666667.
TEST(MaskedMse, HandValues) {
    const at::Tensor p = at::tensor({1.0f, 2.0f, 3.0f, 4.0f}).view({1, 2, 2});
    const at::Tensor zero = at::zeros_like(p);
    EXPECT_NEAR(value(ecgbench::masked_mse_loss(p, zero, {})), 7.5, 1e-6);
    EXPECT_NEAR(value(ecgbench::masked_mse_loss(p, zero, at::tensor({1, 1}).ne(0).view({1, 2}))), 7.5, 1e-6);
    EXPECT_NEAR(value(ecgbench::masked_mse_loss(p, zero, at::tensor({1, 0}).ne(0).view({1, 2}))), 2.5, 1e-6);
    EXPECT_NEAR(value(ecgbench::masked_mse_loss(p, zero, at::tensor({0, 0}).ne(0).view({1, 2}))), 0.0, 1e-6);
    const at::Tensor two = at::tensor({1.0f, 2.0f, 3.0f, 4.0f, 2.0f, 2.0f, 0.0f, 0.0f}).view({2, 2, 2});
    EXPECT_NEAR(value(ecgbench::masked_mse_loss(two, at::zeros_like(two), at::tensor({1, 0, 1, 1}).ne(0).view({2, 2}))),
                13.0 / 6.0, 1e-6);
    EXPECT_THROW(ecgbench::masked_mse_loss(p, zero.view({1, 4}), {}), std::invalid_argument);
    EXPECT_THROW(ecgbench::masked_mse_loss(p, zero, at::ones({2, 2}, at::kBool)), std::invalid_argument);
}

// Tokens in place of leads: the MAE / ST-MEM reconstruction loss over hidden tokens.
TEST(MaskedMse, OverSelectedTokens) {
    // Two records × three tokens × two values; token errors (mean over values) 1, 4, 0.25 and 9, 0, 1.
    const at::Tensor p = at::tensor({1.0f, -1.0f, 2.0f, 2.0f, 0.5f, -0.5f, 3.0f, -3.0f, 0.0f, 0.0f, 1.0f, 1.0f}).view({2, 3, 2});
    const at::Tensor hidden = at::tensor({1, 0, 1, 1, 1, 0}).ne(0).view({2, 3});
    EXPECT_NEAR(value(ecgbench::masked_mse_loss(p, at::zeros_like(p), hidden)), (1 + 0.25 + 9 + 0) / 4.0, 1e-6);
}

TEST(MaskedSmoothL1, HandValues) {
    // d = 0.5, 3 | 1, −2: Huber(β = 1) = 0.125, 2.5 | 0.5, 1.5.
    const at::Tensor p = at::tensor({0.5f, 3.0f, 1.0f, -2.0f}).view({1, 2, 2});
    const at::Tensor zero = at::zeros_like(p);
    const auto mask = [](std::initializer_list<int> m) { return at::tensor(std::vector<int>(m)).ne(0).view({1, 2}); };
    EXPECT_NEAR(value(ecgbench::masked_smooth_l1_loss(p, zero, mask({1, 1}))), 4.625 / 4, 1e-6);
    EXPECT_NEAR(value(ecgbench::masked_smooth_l1_loss(p, zero, mask({1, 0}))), 2.625 / 2, 1e-6);
    EXPECT_NEAR(value(ecgbench::masked_smooth_l1_loss(p, zero, mask({0, 0}))), 0.0, 1e-6);
    // β = 2: 0.5 is quadratic (0.25 / 4 = 0.0625), 3 linear (3 − 1 = 2).
    EXPECT_NEAR(value(ecgbench::masked_smooth_l1_loss(p, zero, mask({1, 0}), 2.0)), 2.0625 / 2, 1e-6);
    EXPECT_THROW(ecgbench::masked_smooth_l1_loss(p, zero, {}), std::invalid_argument);
    EXPECT_THROW(ecgbench::masked_smooth_l1_loss(p, zero.view({1, 4}), mask({1, 1})), std::invalid_argument);
}

TEST(MaskedSmoothL1, TargetGetsNoGradient) {
    const at::Tensor p = at::tensor({0.5f, 3.0f}).view({1, 1, 2}).requires_grad_();
    const at::Tensor t = at::zeros({1, 1, 2}).requires_grad_();
    ecgbench::masked_smooth_l1_loss(p, t, at::ones({1, 1}, at::kBool)).backward();
    EXPECT_FALSE(t.grad().defined());
    // d/dp: d/β = 0.5 inside, sign(d) = 1 outside, divided by K = 2.
    EXPECT_NEAR(p.grad()[0][0][0].item<double>(), 0.25, 1e-6);
    EXPECT_NEAR(p.grad()[0][0][1].item<double>(), 0.5, 1e-6);
}

TEST(NormalisePatches, HandValues) {
    // [1, 2, 3]: mean 2, unbiased variance 1. [2, 4, 6, 8]: mean 5, variance 20/3.
    const at::Tensor a = ecgbench::normalise_patches(at::tensor({1.0f, 2.0f, 3.0f}).view({1, 3}), 0.0);
    EXPECT_TRUE(at::allclose(a, at::tensor({-1.0f, 0.0f, 1.0f}).view({1, 3})));
    const at::Tensor b = ecgbench::normalise_patches(at::tensor({2.0f, 4.0f, 6.0f, 8.0f}).view({1, 1, 4}), 0.0);
    const double s = std::sqrt(20.0 / 3.0);
    EXPECT_NEAR(b[0][0][0].item<double>(), -3 / s, 1e-5);
    EXPECT_NEAR(b[0][0][3].item<double>(), 3 / s, 1e-5);
    // A flat patch stays finite (eps): 0 / √eps.
    EXPECT_NEAR(ecgbench::normalise_patches(at::full({1, 4}, 5.0f))[0][2].item<double>(), 0.0, 1e-9);
    EXPECT_THROW(ecgbench::normalise_patches(at::ones({3, 1})), std::invalid_argument);
}

}  // namespace
