// ECG augmentations: contract (shape, no aliasing, seeding) and each knob in isolation.
#include "ecgbench/augment.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <stdexcept>

namespace {

using ecgbench::AugmentConfig;
using ecgbench::augment;

AugmentConfig disabled() {
    AugmentConfig c;
    c.amplitude_scale = c.gaussian_noise = c.baseline_wander = c.max_shift = c.time_mask = c.lead_dropout = 0;
    return c;
}

// Records with no exact zeros (offset keeps them away from 0), so masking is detectable.
at::Tensor signals(std::int64_t b = 4, std::int64_t l = 3, std::int64_t t = 200) {
    at::manual_seed(11);
    return at::randn({b, l, t}) + 5.0;
}

TEST(Augment, KeepsShapeAndDtype) {
    const at::Tensor x = signals();
    AugmentConfig all;
    all.lead_dropout = 0.3;
    const at::Tensor y = augment(x, all);
    EXPECT_EQ(y.sizes(), x.sizes());
    EXPECT_EQ(y.scalar_type(), x.scalar_type());
    EXPECT_TRUE(y.isfinite().all().item<bool>());
}

TEST(Augment, DoesNotModifyInput) {
    const at::Tensor x = signals();
    const at::Tensor before = x.clone();
    AugmentConfig all;
    all.lead_dropout = 0.5;
    (void)augment(x, all);
    EXPECT_TRUE(at::equal(x, before));
}

TEST(Augment, AllDisabledIsIdentityCopy) {
    const at::Tensor x = signals();
    const at::Tensor y = augment(x, disabled());
    EXPECT_TRUE(at::equal(x, y));
    EXPECT_NE(x.data_ptr(), y.data_ptr());  // a copy: writing to a view never touches the batch
}

TEST(Augment, FullLeadDropoutZeroesEverything) {
    AugmentConfig c;  // every other knob at its default
    c.lead_dropout = 1.0;
    EXPECT_EQ(augment(signals(), c).count_nonzero().item<std::int64_t>(), 0);
}

TEST(Augment, SeedReproducesViews) {
    const at::Tensor x = signals();
    AugmentConfig c;
    c.lead_dropout = 0.2;
    at::manual_seed(7);
    const at::Tensor a = augment(x, c);
    at::manual_seed(7);
    const at::Tensor b = augment(x, c);
    EXPECT_TRUE(at::equal(a, b));
    at::manual_seed(8);
    EXPECT_FALSE(at::equal(a, augment(x, c)));
    // Successive calls draw fresh randomness (the two SimCLR views differ).
    at::manual_seed(7);
    (void)augment(x, c);
    EXPECT_FALSE(at::equal(a, augment(x, c)));
}

TEST(Augment, AmplitudeScaleIsOneGainPerLeadWithinBounds) {
    const at::Tensor x = signals();
    AugmentConfig c = disabled();
    c.amplitude_scale = 0.2;
    const at::Tensor gain = augment(x, c) / x;  // [B, L, T]
    const at::Tensor per_lead = gain.select(2, 0).unsqueeze(2);
    EXPECT_TRUE(at::allclose(gain, per_lead.expand_as(gain), 1e-5, 1e-6));
    EXPECT_GE(per_lead.min().item<double>(), 0.8 - 1e-6);
    EXPECT_LE(per_lead.max().item<double>(), 1.2 + 1e-6);
    EXPECT_GT(per_lead.std().item<double>(), 0.0);  // gains differ between leads/records
}

TEST(Augment, ShiftIsCircularRollWithinLimit) {
    const std::int64_t t = 200;
    const at::Tensor x = signals(6, 3, t);
    AugmentConfig c = disabled();
    c.max_shift = 0.1;  // |k| <= 20 samples
    at::manual_seed(1);
    const at::Tensor y = augment(x, c);
    for (std::int64_t b = 0; b < x.size(0); ++b) {
        bool found = false;
        for (std::int64_t k = -20; k <= 20 && !found; ++k) {
            found = at::equal(y[b], x[b].roll({k}, {1}));
        }
        EXPECT_TRUE(found) << "record " << b << " is not a roll of at most 20 samples";
    }
}

TEST(Augment, TimeMaskZeroesOneSpanOnAllLeads) {
    const std::int64_t t = 200;
    const at::Tensor x = signals(8, 3, t);
    AugmentConfig c = disabled();
    c.time_mask = 0.1;  // span of 1..20 samples
    const at::Tensor y = augment(x, c);
    for (std::int64_t b = 0; b < x.size(0); ++b) {
        const at::Tensor zero = (y[b] == 0);                     // [L, T]
        EXPECT_TRUE(at::equal(zero, zero[0].expand_as(zero)));  // same span on every lead
        const at::Tensor idx = zero[0].nonzero().flatten();
        const std::int64_t n = idx.numel();
        ASSERT_GE(n, 1);
        ASSERT_LE(n, 20);
        EXPECT_EQ(idx[-1].item<std::int64_t>() - idx[0].item<std::int64_t>() + 1, n);  // contiguous
        EXPECT_TRUE(at::equal(y[b].masked_select(~zero), x[b].masked_select(~zero)));  // rest intact
    }
}

TEST(Augment, NoiseStdIsRelativeToRecordStd) {
    at::manual_seed(2);
    const at::Tensor x = at::randn({4, 2, 20000}) * 3.0;  // record std ≈ 3
    AugmentConfig c = disabled();
    c.gaussian_noise = 0.1;
    const at::Tensor residual = augment(x, c) - x;
    const at::Tensor expected = x.std({1, 2}, /*unbiased=*/false) * 0.1;
    EXPECT_TRUE(at::allclose(residual.std({1, 2}), expected, 0.05, 0.0));
}

TEST(Augment, BaselineWanderIsBoundedAndSmooth) {
    const std::int64_t t = 1000;
    const at::Tensor x = signals(4, 3, t);
    AugmentConfig c = disabled();
    c.baseline_wander = 0.5;
    const at::Tensor wander = augment(x, c) - x;
    const at::Tensor amplitude = x.std({1, 2}, /*unbiased=*/false, /*keepdim=*/true) * 0.5;
    EXPECT_TRUE((wander.abs() <= amplitude * 1.001).all().item<bool>());
    EXPECT_GT(wander.abs().max().item<double>(), 0.0);
    // At most 2 cycles per record: one sample moves a sinusoid by ≤ A·2π·2/T.
    const at::Tensor step = (wander.narrow(2, 1, t - 1) - wander.narrow(2, 0, t - 1)).abs();
    EXPECT_TRUE((step <= amplitude * (4.0 * std::numbers::pi / t) * 1.01 + 1e-5).all().item<bool>());
}

TEST(Augment, PartialLeadDropoutZeroesWholeLeads) {
    const at::Tensor x = signals(64, 12, 50);
    AugmentConfig c = disabled();
    c.lead_dropout = 0.5;
    const at::Tensor y = augment(x, c);
    const at::Tensor dropped = (y == 0).all(2);  // [B, L]
    const at::Tensor touched = (y == 0).any(2);
    EXPECT_TRUE(at::equal(dropped, touched));  // a lead is either intact or fully zero
    const double rate = dropped.to(at::kDouble).mean().item<double>();
    EXPECT_GT(rate, 0.35);
    EXPECT_LT(rate, 0.65);
}

TEST(Augment, RejectsInvalidConfigAndShapes) {
    const at::Tensor x = signals();
    AugmentConfig c = disabled();
    c.gaussian_noise = -0.1;
    EXPECT_THROW(augment(x, c), std::invalid_argument);
    c = disabled();
    c.lead_dropout = 1.5;
    EXPECT_THROW(augment(x, c), std::invalid_argument);
    c = disabled();
    c.max_shift = NAN;
    EXPECT_THROW(augment(x, c), std::invalid_argument);
    EXPECT_THROW(augment(at::zeros({3, 100}), AugmentConfig{}), std::invalid_argument);
    EXPECT_THROW(augment(at::zeros({2, 3, 100}, at::kLong), AugmentConfig{}), std::invalid_argument);
}

}  // namespace
