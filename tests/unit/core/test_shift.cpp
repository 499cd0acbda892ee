// Evaluation-time distribution shift: noise lands at exactly the requested SNR on every present lead,
// lead subsets are marked absent (never silently zero-filled), random subsets are seeded, and the
// input split is left alone.
#include "shift/shift.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <numbers>
#include <string>
#include <vector>

namespace ecgbench {
namespace {

const std::vector<std::string> kLeads{"I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"};

/// n records of 12 leads × 500 samples: a 1.2 Hz "beat" sinusoid of a lead-dependent amplitude.
EcgSplit clean_split(std::int64_t n, double fs) {
    EcgSplit s;
    const at::Tensor t = at::arange(500, at::kFloat).div(fs);
    const at::Tensor amplitude = at::linspace(0.2, 1.4, 12).view({1, 12, 1});
    s.signals = (amplitude * at::sin(2 * std::numbers::pi * 1.2 * t).view({1, 1, 500})).repeat({n, 1, 1}).contiguous();
    s.lead_present = at::ones({n, 12}, at::kBool);
    s.labels = at::zeros({n, 0});
    s.subjects = at::arange(n, at::kLong);
    return s;
}

/// 10·log10(signal variance / added-noise variance) per record and lead.
at::Tensor snr_db(const EcgSplit& clean, const EcgSplit& shifted) {
    const at::Tensor noise = shifted.signals - clean.signals;
    return 10 * at::log10(clean.signals.var(-1, /*unbiased=*/false) / noise.var(-1, /*unbiased=*/false));
}

TEST(Shift, EveryNoiseTypeLandsAtTheRequestedSnrOnEveryLead) {
    const EcgSplit clean = clean_split(4, 500);
    for (const auto& type : shift_noise_types()) {
        for (double target : {24.0, 6.0, -6.0}) {
            ShiftDecl shift{"n", type, "", target, {}, 0};
            const EcgSplit shifted = apply_shift(clean, shift, kLeads, 500, 3);
            const at::Tensor snr = snr_db(clean, shifted);
            EXPECT_LT((snr - target).abs().max().item<double>(), 1e-3) << type << " at " << target << " dB";
            EXPECT_TRUE(shifted.lead_present.all().item<bool>());
        }
    }
    // The input is untouched, and the seed decides the noise.
    ShiftDecl muscle{"n", "muscle", "", 6, {}, 0};
    const at::Tensor before = clean.signals.clone();
    const EcgSplit a = apply_shift(clean, muscle, kLeads, 500, 3), b = apply_shift(clean, muscle, kLeads, 500, 3);
    const EcgSplit c = apply_shift(clean, muscle, kLeads, 500, 4);
    EXPECT_TRUE(at::equal(clean.signals, before));
    EXPECT_TRUE(at::equal(a.signals, b.signals));
    EXPECT_FALSE(at::equal(a.signals, c.signals));
}

TEST(Shift, PowerlineAboveNyquistIsAnErrorNotSilence) {
    ShiftDecl mains{"pl", "powerline", "", 6, {}, 0};
    EXPECT_THROW(apply_shift(clean_split(2, 100), mains, kLeads, 100, 1), std::invalid_argument);
}

TEST(Shift, LeadSubsetsAreMarkedAbsentAndCombineWithNoise) {
    EcgSplit clean = clean_split(3, 500);
    clean.lead_present[0][1] = false;  // record 0 never had lead II
    clean.signals[0][1].zero_();
    ShiftDecl cinc3{"cinc3", "gaussian", "", 12, lead_preset("cinc3"), 0};
    const EcgSplit shifted = apply_shift(clean, cinc3, kLeads, 500, 1);
    for (std::int64_t l = 0; l < 12; ++l) {
        const bool kept = kLeads[l] == "I" || kLeads[l] == "II" || kLeads[l] == "V2";
        EXPECT_EQ(shifted.lead_present[1][l].item<bool>(), kept) << kLeads[l];
        if (!kept) {
            EXPECT_EQ(shifted.signals[1][l].abs().max().item<float>(), 0.0f) << kLeads[l];
        }
    }
    EXPECT_FALSE(shifted.lead_present[0][1].item<bool>());  // absent stays absent, and gets no noise
    EXPECT_EQ(shifted.signals[0][1].abs().max().item<float>(), 0.0f);
    EXPECT_LT((snr_db(clean, shifted)[1][0] - 12).abs().item<double>(), 1e-3);

    ShiftDecl missing{"x", "", "", 0, {"I", "V7"}, 0};
    EXPECT_THROW(apply_shift(clean, missing, kLeads, 500, 1), std::invalid_argument);
}

TEST(Shift, RandomLeadSubsetsKeepKLeadsPerRecordSeeded) {
    const EcgSplit clean = clean_split(50, 500);
    ShiftDecl three{"r3", "", "", 0, {}, 3};
    const EcgSplit a = apply_shift(clean, three, kLeads, 500, 9), b = apply_shift(clean, three, kLeads, 500, 9);
    EXPECT_TRUE(at::equal(a.lead_present.sum(1), at::full({50}, 3, at::kLong)));
    EXPECT_TRUE(at::equal(a.lead_present, b.lead_present));
    // Different records get different subsets.
    EXPECT_GT(std::get<0>(at::unique_dim(a.lead_present.to(at::kInt), 0)).size(0), 10);
}

/// 2 records × 12 leads × `samples` of a unit sine at `hz`.
EcgSplit sine_split(double hz, double fs, std::int64_t samples) {
    EcgSplit s;
    const at::Tensor t = at::arange(samples, at::kDouble).div(fs);
    s.signals = at::sin(2 * std::numbers::pi * hz * t).to(at::kFloat).view({1, 1, samples}).repeat({2, 12, 1}).contiguous();
    s.lead_present = at::ones({2, 12}, at::kBool);
    s.labels = at::zeros({2, 0});
    s.subjects = at::arange(2, at::kLong);
    return s;
}

/// RMS of the shifted over the clean signal away from the edges (the middle half), per record and lead.
at::Tensor middle_gain(const EcgSplit& clean, const EcgSplit& shifted) {
    const std::int64_t n = clean.signals.size(2);
    auto rms = [&](const at::Tensor& x) { return x.slice(2, n / 4, 3 * n / 4).to(at::kDouble).pow(2).mean(-1).sqrt(); };
    return rms(shifted.signals) / rms(clean.signals);
}

// A second-order Butterworth by the bilinear transform, pre-warped at the corner, run forward and
// backward: |H|² at f is 1 / (1 + (tan(πf/fs) / tan(πfc/fs))⁴) for the low-pass and
// q⁴ / (1 + q⁴), q = tan(πf/fs) / tan(πfc/fs), for the high-pass.
TEST(Shift, BandwidthAttenuatesSinesByTheButterworthFactor) {
    const double fs = 500;
    auto ratio = [&](double f, double fc) { return std::tan(std::numbers::pi * f / fs) / std::tan(std::numbers::pi * fc / fs); };
    ShiftDecl lowpass{.name = "40 Hz", .lowpass_hz = 40};
    const EcgSplit above = sine_split(80, fs, 2000), below = sine_split(5, fs, 2000);
    const double expected_above = 1 / (1 + std::pow(ratio(80, 40), 4));  // 0.0455
    EXPECT_LT((middle_gain(above, apply_shift(above, lowpass, kLeads, fs, 1)) - expected_above).abs().max().item<double>(), 2e-3);
    EXPECT_GT(middle_gain(below, apply_shift(below, lowpass, kLeads, fs, 1)).min().item<double>(), 0.999);

    ShiftDecl highpass{.name = "10 Hz", .highpass_hz = 10};
    const double q4 = std::pow(ratio(5, 10), 4), expected_below = q4 / (1 + q4);  // 0.059
    EXPECT_LT((middle_gain(below, apply_shift(below, highpass, kLeads, fs, 1)) - expected_below).abs().max().item<double>(), 2e-3);

    ShiftDecl band{.name = "15-40 Hz", .highpass_hz = 15, .lowpass_hz = 40};  // both: the product of the two
    const EcgSplit mid = sine_split(20, fs, 2000);
    const double expected_mid = 1 / (1 + std::pow(ratio(20, 40), 4)) * std::pow(ratio(20, 15), 4) / (1 + std::pow(ratio(20, 15), 4));  // 0.719
    EXPECT_LT((middle_gain(mid, apply_shift(mid, band, kLeads, fs, 1)) - expected_mid).abs().max().item<double>(), 2e-3);

    ShiftDecl too_high{.name = "x", .lowpass_hz = 250};
    EXPECT_NE(too_high.rate_problem(fs).find("Nyquist"), std::string::npos);
    EXPECT_THROW(apply_shift(mid, too_high, kLeads, fs, 1), std::invalid_argument);
}

// 500 → 100 → 500 Hz: a sine well inside the lower rate's band comes back (to the FIR's ripple),
// one above its Nyquist is removed by the anti-aliasing filter instead of folding back.
TEST(Shift, ResamplingRoundTripKeepsBandLimitedSinesAndRemovesTheRest) {
    const double fs = 500;
    ShiftDecl rate{.name = "100 Hz", .resample_hz = 100};
    const EcgSplit slow = sine_split(10, fs, 1001);  // an odd length: the round trip keeps it
    const EcgSplit shifted = apply_shift(slow, rate, kLeads, fs, 1);
    ASSERT_EQ(shifted.signals.sizes(), slow.signals.sizes());
    const at::Tensor error = (shifted.signals - slow.signals).slice(2, 100, 900).abs().max();
    EXPECT_LT(error.item<double>(), 0.01);
    EXPECT_TRUE(shifted.lead_present.all().item<bool>());
    const EcgSplit fast = sine_split(70, fs, 1001);
    EXPECT_LT(middle_gain(fast, apply_shift(fast, rate, kLeads, fs, 1)).max().item<double>(), 0.01);

    ShiftDecl same{.name = "x", .resample_hz = 500};
    EXPECT_NE(same.rate_problem(fs).find("not below the data's rate"), std::string::npos);
    EXPECT_THROW(apply_shift(slow, same, kLeads, fs, 1), std::invalid_argument);
    EXPECT_EQ(rate.rate_problem(fs), "");
}

TEST(Shift, RealNoiseRecordsAreResampledAndScaled) {
    const std::filesystem::path ma = std::filesystem::path(ECGBENCH_SHARED_DATA) / "nstdb" / "ma";
    if (!std::filesystem::exists(ma.string() + ".hea")) {
        std::printf("NSTDB 'ma' not in %s: real-noise shift not checked\n", ECGBENCH_SHARED_DATA);
        return;
    }
    const EcgSplit clean = clean_split(2, 100);
    ShiftDecl nstdb{"ma", "", ma.string(), 0, {}, 0};
    const EcgSplit shifted = apply_shift(clean, nstdb, kLeads, 100, 2);  // 360 Hz noise at 100 Hz
    EXPECT_LT((snr_db(clean, shifted) - 0).abs().max().item<double>(), 1e-3);
}

}  // namespace
}  // namespace ecgbench
