// Recording noise (SNR met exactly, absent leads untouched, each type in its band) and lead dropping.
#include "ecgbench/corruption.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <stdexcept>

namespace {

using ecgbench::add_recording_noise;
using ecgbench::RecordingNoise;

// Records of a few sinusoids (ECG-like power, no noise), [B, L, T] at `fs`.
at::Tensor clean_records(std::int64_t b, std::int64_t l, std::int64_t t, double fs) {
    at::manual_seed(21);
    const at::Tensor time = at::arange(t, at::kFloat).div(fs).view({1, 1, t});
    const at::Tensor f = at::rand({b, l, 1}) * 3 + 1;
    return (time * f * 2 * std::numbers::pi).sin() * (at::rand({b, l, 1}) + 0.5) + 0.3;
}

double snr_db(const at::Tensor& clean, const at::Tensor& noisy, std::int64_t record) {
    const at::Tensor s = clean[record], n = noisy[record] - clean[record];
    const double p_signal = (s - s.mean(-1, true)).pow(2).mean().item<double>();
    return 10 * std::log10(p_signal / n.pow(2).mean().item<double>());
}

// Fraction of the noise's power (per lead, summed) in frequencies [lo, hi) Hz.
double power_fraction(const at::Tensor& noise, double fs, double lo, double hi) {
    const at::Tensor spectrum = at::fft_rfft(noise.to(at::kDouble), {}, -1).abs().pow(2);  // [.., T/2+1]
    const at::Tensor freq = at::arange(spectrum.size(-1), at::kDouble) * fs / static_cast<double>(noise.size(-1));
    const at::Tensor band = (freq >= lo) & (freq < hi);
    return ((spectrum * band.to(at::kDouble)).sum() / spectrum.sum()).item<double>();
}

TEST(RecordingNoise, MeetsTheDrawnSnrPerRecord) {
    const at::Tensor x = clean_records(4, 3, 1000, 250.0);
    const at::Tensor snr = at::tensor({0.0f, 6.0f, 12.5f, 30.0f});
    at::manual_seed(1);
    const at::Tensor y = add_recording_noise(x, {}, snr, 250.0);
    for (std::int64_t i = 0; i < 4; ++i) EXPECT_NEAR(snr_db(x, y, i), snr[i].item<double>(), 1e-3) << "record " << i;
    EXPECT_FALSE(at::equal(y, x));
}

// An absent lead keeps its column as it was, and neither its signal nor noise enters the SNR.
TEST(RecordingNoise, LeavesAbsentLeadsAndMeasuresPresentOnes) {
    const at::Tensor x = clean_records(2, 3, 500, 100.0);
    const at::Tensor present = at::tensor({1, 0, 1, 1, 1, 0}).ne(0).view({2, 3});
    at::manual_seed(2);
    const at::Tensor y = add_recording_noise(x, present, at::tensor({10.0f, 10.0f}), 100.0);
    EXPECT_TRUE(at::equal(y[0][1], x[0][1]));
    EXPECT_TRUE(at::equal(y[1][2], x[1][2]));
    const at::Tensor kept0 = at::tensor({0, 2}, at::kLong);
    EXPECT_NEAR(snr_db(x.index_select(1, kept0), y.index_select(1, kept0), 0), 10.0, 1e-3);
}

// Each type alone lands in its band: baseline wander below 1 Hz, EMG mostly above 10 Hz, mains at
// 50 Hz when 50 Hz is below Nyquist (and absent at fs = 100 Hz, where it would alias to DC).
TEST(RecordingNoise, EachTypeInItsBand) {
    const double fs = 250.0;
    const at::Tensor x = clean_records(8, 2, 2500, fs);
    const at::Tensor snr = at::zeros({8});
    auto only = [&](double baseline, double muscle, double motion, double powerline) {
        at::manual_seed(3);
        return add_recording_noise(x, {}, snr, fs, RecordingNoise{baseline, muscle, motion, powerline, 50.0}) - x;
    };
    EXPECT_GT(power_fraction(only(1, 0, 0, 0), fs, 0, 1.0), 0.95);
    EXPECT_GT(power_fraction(only(0, 1, 0, 0), fs, 10.0, fs), 0.8);
    EXPECT_GT(power_fraction(only(0, 0, 1, 0), fs, 0, 10.0), 0.9);
    EXPECT_GT(power_fraction(only(0, 0, 0, 1), fs, 49.0, 51.0), 0.99);
    const at::Tensor x100 = clean_records(2, 2, 500, 100.0);
    EXPECT_TRUE(at::equal(add_recording_noise(x100, {}, at::zeros({2}), 100.0, RecordingNoise{0, 0, 0, 1, 50.0}), x100));
}

TEST(RecordingNoise, RejectsBadArguments) {
    const at::Tensor x = at::zeros({2, 3, 10});
    EXPECT_THROW(add_recording_noise(x, {}, at::zeros({3}), 100.0), std::invalid_argument);
    EXPECT_THROW(add_recording_noise(x, {}, at::zeros({2}), 0.0), std::invalid_argument);
    EXPECT_THROW(add_recording_noise(x, at::ones({2, 2}, at::kBool), at::zeros({2}), 100.0), std::invalid_argument);
    EXPECT_THROW(add_recording_noise(x, {}, at::zeros({2}), 100.0, RecordingNoise{-1, 0, 0, 0, 50}), std::invalid_argument);
}

TEST(DropLeads, KeepsASubsetWithAtLeastOneLead) {
    at::manual_seed(4);
    at::Tensor present = at::rand({2000, 12}) < 0.8;
    present[0].fill_(false);  // a record with no lead stays without
    const at::Tensor kept = ecgbench::drop_leads(present, 1.0);
    EXPECT_TRUE((kept & present.logical_not()).any().item<bool>() == false) << "a lead absent before is present after";
    EXPECT_FALSE(kept[0].any().item<bool>());
    EXPECT_TRUE(kept.narrow(0, 1, 1999).any(1).all().item<bool>());
    // Drop probability ~ U(0, 1): about half of the present leads go (more is kept by the rescue).
    const double dropped = 1.0 - kept.sum().item<double>() / present.sum().item<double>();
    EXPECT_NEAR(dropped, 0.5, 0.03);
    EXPECT_TRUE(at::equal(ecgbench::drop_leads(present, 0.0), present));
    EXPECT_THROW(ecgbench::drop_leads(present, 1.5), std::invalid_argument);
}

}  // namespace
