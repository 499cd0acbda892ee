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
