// The preprocessing pipeline: DSP primitives against hand-computed values, and the pipeline on splits.
#include "ecgbench/dsp.hpp"
#include "preprocess/pipeline.hpp"
#include "util/json.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using namespace ecgbench;
constexpr double kPi = std::numbers::pi;

std::vector<float> sine(double hz, double fs, std::int64_t n, double amplitude = 1.0, double phase = 0.0) {
    std::vector<float> x(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) x[static_cast<std::size_t>(i)] = static_cast<float>(amplitude * std::sin(2 * kPi * hz * static_cast<double>(i) / fs + phase));
    return x;
}

/// RMS over [from, to).
double rms(const std::vector<float>& x, std::size_t from, std::size_t to) {
    double s = 0;
    for (std::size_t i = from; i < to; ++i) s += static_cast<double>(x[i]) * x[i];
    return std::sqrt(s / static_cast<double>(to - from));
}

PreprocessStep step(const std::string& name, std::map<std::string, ParamValue> params = {}) {
    return {name, validate_params(preprocess_step_schema(name), params)};
}

TEST(Dsp, ResamplingRatioIsInLowestTermsAndBounded) {
    EXPECT_EQ(dsp::resampling_ratio(500, 100).up, 1);
    EXPECT_EQ(dsp::resampling_ratio(500, 100).down, 5);
    EXPECT_EQ(dsp::resampling_ratio(360, 250).up, 25);
    EXPECT_EQ(dsp::resampling_ratio(360, 250).down, 36);
    EXPECT_EQ(dsp::resampling_ratio(257, 100).up, 100);
    EXPECT_THROW(dsp::resampling_ratio(500, 100.003), std::invalid_argument);  // 100003/500000: too complex
    EXPECT_EQ(dsp::resampled_length(5000, {1, 5}), 1000);
    EXPECT_EQ(dsp::resampled_length(1001, {1, 5}), 201);  // ceil
    EXPECT_EQ(dsp::resampled_length(650, {25, 36}), 452);  // ceil(650 * 25 / 36) = ceil(451.4)
}

TEST(Dsp, ResamplingFilterHasUnitDcGainPerPhaseAndKaiserShape) {
    const auto h = dsp::resampling_filter({1, 5});
    ASSERT_EQ(h.size(), 101u);  // 2 * 10 * 5 + 1
    EXPECT_NEAR(std::accumulate(h.begin(), h.end(), 0.0), 1.0, 1e-12);
    EXPECT_NEAR(h[50], 0.2, 0.01);  // centre tap = the cutoff (1 / max(up, down))
    EXPECT_NEAR(h[0], h[100], 1e-15);                                                   // symmetric
    // Upsampling by 2: each polyphase branch must have DC gain 1 so a constant stays constant.
    const auto up = dsp::resampling_filter({2, 1});
    double even = 0, odd = 0;
    for (std::size_t k = 0; k < up.size(); ++k) (k % 2 ? odd : even) += up[k];
    EXPECT_NEAR(even, 1.0, 1e-3);
    EXPECT_NEAR(odd, 1.0, 1e-3);
}

TEST(Dsp, ResamplingKeepsInBandTonesAndRemovesAliases) {
    const double fs = 500;
    // 5 Hz survives 500 -> 100 Hz with its amplitude; 70 Hz (above the new 50 Hz Nyquist) is removed.
    const auto low = sine(5, fs, 5000), high = sine(70, fs, 5000);
    const dsp::Ratio ratio = dsp::resampling_ratio(500, 100);
    const auto h = dsp::resampling_filter(ratio);
    std::vector<float> a(1000), b(1000);
    dsp::resample_poly(low.data(), 5000, ratio, h, a.data());
    dsp::resample_poly(high.data(), 5000, ratio, h, b.data());
    EXPECT_NEAR(rms(a, 50, 950), 1 / std::sqrt(2.0), 0.005);
    EXPECT_LT(rms(b, 50, 950), 0.01);  // < -37 dB
    // Sample m of the output is the input at time m / 100 s: no delay.
    for (std::size_t m = 100; m < 900; m += 97) EXPECT_NEAR(a[m], std::sin(2 * kPi * 5 * static_cast<double>(m) / 100), 0.01) << m;
    // Upsampling 100 -> 250 Hz interpolates the tone.
    const auto slow = sine(3, 100, 1000);
    const dsp::Ratio up = dsp::resampling_ratio(100, 250);
    std::vector<float> c(static_cast<std::size_t>(dsp::resampled_length(1000, up)));
    dsp::resample_poly(slow.data(), 1000, up, dsp::resampling_filter(up), c.data());
    ASSERT_EQ(c.size(), 2500u);
    for (std::size_t m = 200; m < 2300; m += 131) EXPECT_NEAR(c[m], std::sin(2 * kPi * 3 * static_cast<double>(m) / 250), 0.01) << m;
}

TEST(Dsp, ButterworthAndNotchCoefficientsMatchTheBilinearDesign) {
    // Low-pass at fs/4: K = tan(pi/4) = 1, so b = [1, 2, 1] / (2 + sqrt 2), a1 = 0, a2 = (2 - sqrt 2)/(2 + sqrt 2).
    const dsp::Biquad q = dsp::butterworth(25, 100, false);
    const double d = 2 + std::sqrt(2.0);
    EXPECT_NEAR(q.b0, 1 / d, 1e-12);
    EXPECT_NEAR(q.b1, 2 / d, 1e-12);
    EXPECT_NEAR(q.b2, 1 / d, 1e-12);
    EXPECT_NEAR(q.a1, 0, 1e-12);
    EXPECT_NEAR(q.a2, (2 - std::sqrt(2.0)) / d, 1e-12);
    // A notch has unit gain at DC and zero gain at its frequency: b0 + b1 e^-jw + b2 e^-2jw = 0.
    const dsp::Biquad n = dsp::notch(50, 30, 500);
    EXPECT_NEAR((n.b0 + n.b1 + n.b2) / (1 + n.a1 + n.a2), 1.0, 1e-12);
    const double w = 2 * kPi * 50 / 500;
    EXPECT_NEAR(n.b0 + n.b1 * std::cos(w) + n.b2 * std::cos(2 * w), 0, 1e-12);
    EXPECT_NEAR(n.b1 * std::sin(w) + n.b2 * std::sin(2 * w), 0, 1e-12);
}

TEST(Dsp, FiltfiltIsZeroPhaseAndAttenuatesTheStopband) {
    const double fs = 500;
    const std::vector<dsp::Biquad> band{dsp::butterworth(0.5, fs, true), dsp::butterworth(40, fs, false)};
    auto passband = sine(10, fs, 5000, 1.0, 0.3);
    const auto reference = passband;
    dsp::filtfilt(band, passband.data(), 5000, 1000);
    // Away from the edges (where any high-pass rings), the tone comes out scaled by |H(10 Hz)|^2 = 0.9964
    // of this cascade and without lag.
    for (std::size_t i = 1500; i < 3500; i += 37) EXPECT_NEAR(passband[i], 0.9964 * reference[i], 0.002) << i;
    auto stop = sine(150, fs, 5000);
    dsp::filtfilt(band, stop.data(), 5000, 1000);
    EXPECT_LT(rms(stop, 1500, 3500), 0.01);  // |H(150)|^2 of a 2nd-order 40 Hz low-pass ~ 1/(150/40)^4
    // A constant offset is removed by the high-pass, without a start-up transient.
    std::vector<float> offset(5000, 3.0f);
    dsp::filtfilt(band, offset.data(), 5000, 1000);
    EXPECT_LT(rms(offset, 0, 5000), 0.01);
    // The notch removes 50 Hz and keeps 10 Hz.
    auto mixed = sine(10, fs, 5000);
    const auto hum = sine(50, fs, 5000, 0.5);
    for (std::size_t i = 0; i < mixed.size(); ++i) mixed[i] += hum[i];
    dsp::filtfilt({dsp::notch(50, 30, fs)}, mixed.data(), 5000, 250);
    const auto clean = sine(10, fs, 5000);
    std::vector<float> residual(5000);
    for (std::size_t i = 0; i < 5000; ++i) residual[i] = mixed[i] - clean[i];
    EXPECT_LT(rms(residual, 1500, 3500), 0.02);
}

TEST(Dsp, RunningMedianAndBaselineRemoval) {
    const std::vector<float> x{5, 1, 4, 2, 3, 100, 0};
    std::vector<float> m(7);
    dsp::running_median(x.data(), 7, 3, m.data());
    // Windows: [5,1] [5,1,4] [1,4,2] [4,2,3] [2,3,100] [3,100,0] [100,0]; even edge windows take the upper middle.
    EXPECT_EQ(m, (std::vector<float>{5, 4, 2, 3, 3, 3, 100}));
    // A slow ramp plus narrow spikes: the baseline (the ramp) goes, the spikes stay (to within the
    // one-sample rank shift a spike causes in each median: 2 x 0.002).
    std::vector<float> signal(1000);
    for (std::size_t i = 0; i < signal.size(); ++i) signal[i] = static_cast<float>(0.002 * static_cast<double>(i) + (i % 100 == 50 ? 1.0 : 0.0));
    dsp::remove_median_baseline(signal.data(), 1000, 21, 61);
    for (std::size_t i = 100; i < 900; ++i) EXPECT_NEAR(signal[i], i % 100 == 50 ? 1.0 : 0.0, 0.0041) << i;
}

EcgSplit two_records(std::int64_t T, double fs) {
    EcgSplit s;
    s.signals = at::zeros({2, 2, T}, at::kFloat);
    for (std::int64_t t = 0; t < T; ++t) {
        s.signals[0][0][t] = static_cast<float>(2 + std::sin(2 * kPi * 5 * static_cast<double>(t) / fs));
        s.signals[1][0][t] = static_cast<float>(std::sin(2 * kPi * 2 * static_cast<double>(t) / fs));
    }
    s.lead_present = at::ones({2, 2}, at::kBool);
    s.lead_present[1][1] = false;  // absent lead: must stay exactly 0
    s.labels = at::tensor({1.0f, 0.0f}).reshape({2, 1});
    s.subjects = at::tensor(std::vector<std::int64_t>{7, 8});
    s.record_ids = {"a", "b"};
    s.texts = {"sinus rhythm", "afib"};
    s.covariates["age"] = at::tensor({50.0f, 60.0f});
    return s;
}

TEST(Pipeline, OutputFormatDescriptionAndIdentity) {
    const Pipeline p({step("resample", {{"hz", 100.0}}), step("bandpass"), step("window", {{"seconds", 2.0}, {"stride_s", 1.0}})});
    const auto [fs, samples] = p.output_format(500, 5000);
    EXPECT_DOUBLE_EQ(fs, 100);
    EXPECT_EQ(samples, 200);
    EXPECT_EQ(p.describe(), "resample to 100 Hz (polyphase, Kaiser FIR); bandpass 0.5-40 Hz (zero-phase Butterworth); window 2 s, stride 1 s");
    EXPECT_EQ(canonical_json(p.json()),
              R"([{"params":{"hz":100},"step":"resample"},{"params":{"high_hz":40,"low_hz":0.5},"step":"bandpass"},)"
              R"({"params":{"seconds":2,"stride_s":1},"step":"window"}])");
    EXPECT_TRUE(Pipeline().empty());
    // Steps that cannot apply say why.
    try {
        Pipeline({step("resample", {{"hz", 50.0}}), step("bandpass", {{"high_hz", 40.0}})}).output_format(500, 5000);
        FAIL();
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("Nyquist"), std::string::npos) << e.what();
    }
    EXPECT_THROW(Pipeline({step("window", {{"seconds", 20.0}})}).output_format(500, 5000), std::invalid_argument);
    try {
        preprocess_step_schema("bandpas");
        FAIL();
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("did you mean 'bandpass'"), std::string::npos) << e.what();
    }
}

TEST(Pipeline, StepsTransformSignalsAndKeepEverythingElse) {
    const EcgSplit in = two_records(1000, 100);
    const Pipeline p({step("bandpass", {{"low_hz", 0.5}, {"high_hz", 20.0}}), step("standardise")});
    const EcgSplit out = p.apply(in, 100);
    EXPECT_EQ(out.signals.sizes(), in.signals.sizes());
    EXPECT_TRUE(at::equal(in.signals[0][0][0].reshape({1}), at::tensor({2.0f})));  // input untouched
    const at::Tensor lead = out.signals[0][0];
    EXPECT_NEAR(lead.mean().item<double>(), 0.0, 1e-4);          // offset gone
    EXPECT_NEAR(lead.std(false).item<double>(), 1.0, 1e-4);      // unit SD
    EXPECT_TRUE(at::equal(out.signals[1][1], at::zeros({1000})));  // absent lead untouched
    EXPECT_EQ(out.record_ids, in.record_ids);
    EXPECT_EQ(out.texts, in.texts);
    EXPECT_TRUE(at::equal(out.labels, in.labels));
}

TEST(Pipeline, WindowsMultiplyRecordsWithTheirMetadata) {
    const EcgSplit in = two_records(1000, 100);
    const EcgSplit out = Pipeline({step("resample", {{"hz", 50.0}}), step("window", {{"seconds", 4.0}, {"stride_s", 3.0}})}).apply(in, 100);
    // 500 samples at 50 Hz; windows of 200 starting at 0, 150, 300 -> 3 per record.
    ASSERT_EQ(out.signals.sizes(), (std::vector<std::int64_t>{6, 2, 200}));
    EXPECT_EQ(out.record_ids, (std::vector<std::string>{"a@0", "a@150", "a@300", "b@0", "b@150", "b@300"}));
    EXPECT_EQ(out.texts[4], "afib");
    EXPECT_EQ(out.subjects[5].item<std::int64_t>(), 8);
    EXPECT_FLOAT_EQ(out.covariates.at("age")[3].item<float>(), 60.0f);
    EXPECT_FLOAT_EQ(out.labels[2][0].item<float>(), 1.0f);
    // Each window names the record it was cut from (row of the input chunk).
    EXPECT_TRUE(at::equal(out.source_records, at::tensor(std::vector<std::int64_t>{0, 0, 0, 1, 1, 1}, at::kLong)));
    // The second window of record a starts 150 samples (3 s) into the resampled record.
    const EcgSplit resampled = Pipeline({step("resample", {{"hz", 50.0}})}).apply(in, 100);
    EXPECT_TRUE(at::equal(out.signals[1], resampled.signals[0].narrow(1, 150, 200)));
}

}  // namespace
