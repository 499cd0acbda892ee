// The `noise_detection` task: its signal-quality features on hand-made signals, and the task on
// synthetic beats corrupted by a hand-written WFDB noise record.
#include "../../../plugins/tasks/noise_detection/signal_quality.hpp"

#include "ecgbench/dataset.hpp"
#include "ecgbench/params.hpp"
#include "ecgbench/task.hpp"
#include "ecgbench/wfdb.hpp"
#include "registry/registry.hpp"
#include "unit/plugins/shipped_plugins.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <numbers>
#include <random>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

namespace {

namespace q = ecgbench::quality;
namespace fs = std::filesystem;
using ecgbench::ParamValue;

std::vector<float> sine(double hz, double fs, double seconds, double amplitude = 1.0) {
    std::vector<float> x(static_cast<std::size_t>(std::llround(fs * seconds)));
    for (std::size_t k = 0; k < x.size(); ++k) x[k] = static_cast<float>(amplitude * std::sin(2 * std::numbers::pi * hz * static_cast<double>(k) / fs));
    return x;
}

TEST(SignalQuality, PureSinesFallInTheirBand) {
    // Whole cycles in 10 s at 250 Hz: each sine is one periodogram bin.
    const auto qrs = sine(10, 250, 10), baseline = sine(0.5, 250, 10), high = sine(60, 250, 10);
    const auto a = q::band_power_fractions(qrs.data(), static_cast<std::int64_t>(qrs.size()), 250);
    EXPECT_NEAR(a.qrs, 1.0, 1e-9);
    EXPECT_NEAR(a.baseline, 0.0, 1e-9);
    EXPECT_NEAR(a.high, 0.0, 1e-9);
    const auto b = q::band_power_fractions(baseline.data(), static_cast<std::int64_t>(baseline.size()), 250);
    EXPECT_NEAR(b.baseline, 1.0, 1e-9);
    EXPECT_NEAR(b.qrs, 0.0, 1e-9);
    const auto c = q::band_power_fractions(high.data(), static_cast<std::int64_t>(high.size()), 250);
    EXPECT_NEAR(c.high, 1.0, 1e-9);
    // Equal-power mix of 10 Hz and 60 Hz: half in each band; a constant offset (DC) counts nowhere.
    std::vector<float> mix(qrs.size());
    for (std::size_t k = 0; k < mix.size(); ++k) mix[k] = qrs[k] + high[k] + 3.0f;
    const auto d = q::band_power_fractions(mix.data(), static_cast<std::int64_t>(mix.size()), 250);
    EXPECT_NEAR(d.qrs, 0.5, 1e-6);
    EXPECT_NEAR(d.high, 0.5, 1e-6);
    // 40 Hz at or above Nyquist: nothing above it.
    const auto low_rate = sine(10, 80, 10);
    EXPECT_EQ(q::band_power_fractions(low_rate.data(), static_cast<std::int64_t>(low_rate.size()), 80).high, 0.0);
    const std::vector<float> flat(100, 2.0f);
    EXPECT_EQ(q::band_power_fractions(flat.data(), 100, 250).qrs, 0.0);
}

TEST(SignalQuality, MomentsOfHandMadeSignals) {
    // A sine: skewness 0, kurtosis E[sin⁴]/E[sin²]² = (3/8)/(1/4) = 1.5.
    const auto s = sine(10, 250, 10);
    EXPECT_NEAR(q::skewness(s.data(), static_cast<std::int64_t>(s.size())), 0.0, 1e-6);
    EXPECT_NEAR(q::kurtosis(s.data(), static_cast<std::int64_t>(s.size())), 1.5, 1e-6);
    // {0, 0, 0, 4}: mean 1, deviations −1 −1 −1 3: m2 = 3, m3 = 6, m4 = 21: skew 6/3^1.5, kurtosis 21/9.
    const std::vector<float> spike{0, 0, 0, 4};
    EXPECT_NEAR(q::skewness(spike.data(), 4), 6.0 / std::pow(3.0, 1.5), 1e-12);
    EXPECT_NEAR(q::kurtosis(spike.data(), 4), 21.0 / 9.0, 1e-12);
    const std::vector<float> flat(10, 1.0f);
    EXPECT_EQ(q::kurtosis(flat.data(), 10), 0.0);
}

TEST(SignalQuality, RrStatisticsOfAKnownSeries) {
    // RR 800 900 700 800: mean 800; deviations 0 100 −100 0: SDNN √(20000/4) = 70.71;
    // successive differences 100 −200 100: RMSSD √(60000/3) = 141.42; none implausible.
    const auto s = q::rr_statistics({800, 900, 700, 800});
    EXPECT_DOUBLE_EQ(s.mean_ms, 800);
    EXPECT_NEAR(s.sdnn_ms, std::sqrt(5000.0), 1e-9);
    EXPECT_NEAR(s.rmssd_ms, std::sqrt(20000.0), 1e-9);
    EXPECT_EQ(s.implausible, 0.0);
    // 250 ms (240 bpm) and 2500 ms (24 bpm) are implausible: 2 of 4.
    EXPECT_DOUBLE_EQ(q::rr_statistics({250, 800, 2500, 900}).implausible, 0.5);
    EXPECT_EQ(q::rr_statistics({}).mean_ms, 0.0);
}

TEST(SignalQuality, BeatAgreementCountsEachMatchOnce) {
    // a: 100 300 500 700; b: 105 290 650 900 (tolerance 20): 100~105, 300~290 match; 500, 700, 650,
    // 900 do not: bSQI = 2 / (4 + 4 − 2).
    EXPECT_DOUBLE_EQ(q::beat_agreement({100, 300, 500, 700}, {105, 290, 650, 900}, 20), 2.0 / 6.0);
    EXPECT_DOUBLE_EQ(q::beat_agreement({100, 300}, {100, 300}, 0), 1.0);
    EXPECT_EQ(q::beat_agreement({}, {}, 10), 0.0);
}

/// Gaussian "QRS" spikes (20 ms wide) every `rr_s` seconds on a flat line, at 250 Hz.
std::vector<float> spikes(double rr_s, double seconds, double fs = 250) {
    std::vector<float> x(static_cast<std::size_t>(std::llround(fs * seconds)), 0.0f);
    for (double t = 0.5; t < seconds - 0.2; t += rr_s)
        for (std::size_t k = 0; k < x.size(); ++k) {
            const double d = (static_cast<double>(k) / fs - t) / 0.02;
            x[k] += static_cast<float>(std::exp(-0.5 * d * d));
        }
    return x;
}

TEST(SignalQuality, DetectorsAgreeOnRegularBeatsAndHrvFollows) {
    const auto x = spikes(0.8, 10);  // 75 bpm: beats at 0.5, 1.3, …, 9.3 s: 12 beats
    const auto peaks = q::slope_peaks(x.data(), static_cast<std::int64_t>(x.size()), 250);
    EXPECT_EQ(peaks.size(), 12u);
    const auto f = q::lead_features(x.data(), static_cast<std::int64_t>(x.size()), 250);
    ASSERT_EQ(f.size(), q::feature_names().size());
    auto feature = [&](const std::string& name) {
        return f[static_cast<std::size_t>(std::find(q::feature_names().begin(), q::feature_names().end(), name) - q::feature_names().begin())];
    };
    EXPECT_GT(feature("bsqi"), 0.9);
    EXPECT_NEAR(feature("mean_rr_ms"), 800, 8);
    EXPECT_LT(feature("sdnn_ms"), 8);
    EXPECT_NEAR(feature("beats_per_minute"), 72, 6.1);  // 12 beats in 10 s
    EXPECT_EQ(feature("implausible_rr"), 0.0);
}

/// Writes a 2-channel WFDB noise record of Gaussian white noise (format 16) and returns its path.
std::string write_noise_record(const fs::path& dir) {
    fs::create_directories(dir);
    const std::int64_t n = 360 * 120;
    std::vector<std::vector<std::int32_t>> digital(2, std::vector<std::int32_t>(static_cast<std::size_t>(n)));
    std::mt19937 engine(3);
    std::normal_distribution<double> normal(0, 200);
    for (auto& channel : digital)
        for (auto& v : channel) v = static_cast<std::int32_t>(std::lround(normal(engine)));
    ecgbench::wfdb::Header h;
    h.name = "white";
    h.fs = 360;
    h.fs_given = true;
    h.nsig = 2;
    h.nsamp = n;
    for (const char* name : {"noise1", "noise2"}) {
        ecgbench::wfdb::SignalInfo s;
        s.file_name = "white.dat";
        s.format = 16;
        s.gain = 200;
        s.gain_given = true;
        s.description = name;
        h.signals.push_back(s);
    }
    ecgbench::wfdb::write_record(dir / "white", h, digital, 16);
    return (dir / "white").string();
}

TEST(NoiseDetection, SeparatesNoisyFromCleanBeatsAndStoresPerRowOutputs) {
    const fs::path dir = fs::temp_directory_path() / ("noise_detection_" + std::to_string(::getpid()));
    std::string record;
    try {
        record = write_noise_record(dir);
    } catch (const std::exception& e) {
        GTEST_SKIP() << "could not write a WFDB record here: " << e.what();
    }
    // Clean windows: spike trains at 50–100 bpm, 5 s at 250 Hz, one lead.
    auto split = [](std::int64_t n, std::uint64_t seed) {
        std::mt19937 engine(static_cast<std::uint32_t>(seed));
        std::uniform_real_distribution<double> rr(0.6, 1.2);
        ecgbench::EcgSplit s;
        std::vector<at::Tensor> rows;
        for (std::int64_t i = 0; i < n; ++i) {
            const auto x = spikes(rr(engine), 5);
            rows.push_back(at::tensor(x).unsqueeze(0));
            s.record_ids.push_back("r" + std::to_string(seed) + "_" + std::to_string(i));
        }
        s.signals = at::stack(rows, 0);
        s.lead_present = at::ones({n, 1}, at::kBool);
        s.labels = at::zeros({n, 0});
        s.subjects = at::arange(n, at::kLong);
        return s;
    };
    const auto& plugin = test_support::registry().require("noise_detection", ecgbench::PluginKind::Task);
    const std::map<std::string, ParamValue> given{{"noise_records", std::vector<std::string>{record}},
                                                  {"snr_db", std::vector<std::string>{"12", "0"}}};
    auto task = test_support::registry().make_task("noise_detection", ecgbench::validate_params(plugin.manifest().params, given));
    ecgbench::DatasetInfo info;
    info.name = "spikes";
    info.leads = {"II"};
    info.sampling_rate_hz = 250;
    const auto train = split(40, 1), val = split(20, 2), test = split(30, 3);
    ecgbench::EvalContext ctx{nullptr, {}, {}, torch::kCPU, info, train, val, test, 5, {}};
    const auto result = task->evaluate(ctx);
    auto metric = [&](const std::string& name) {
        for (const auto& m : result.metrics)
            if (m.name == name && m.split == "test") return m.value;
        ADD_FAILURE() << "no metric " << name;
        return std::nan("");
    };
    EXPECT_GT(metric("auroc/snr_0db"), 0.95);
    EXPECT_GE(metric("auroc/snr_0db"), metric("auroc/snr_12db") - 0.05);  // louder noise is no harder to see
    EXPECT_GT(metric("auroc/white"), 0.9);
    EXPECT_GT(metric("balanced_accuracy"), 0.75);
    EXPECT_GE(metric("specificity"), 0.0);
    ASSERT_EQ(result.outputs.size(), 2u);
    // One row per test record, one column per condition: clean and the 2 SNRs.
    EXPECT_EQ(result.outputs[0].values.sizes(), (std::vector<std::int64_t>{30, 3}));
    EXPECT_EQ(result.outputs[0].record_ids, test.record_ids);
    EXPECT_EQ(result.outputs[0].columns, (std::vector<std::string>{"clean", "white@12dB", "white@0dB"}));
    EXPECT_TRUE(at::equal(result.outputs[1].values.sum(0), at::tensor({0.0f, 30.0f, 30.0f})));

    // Bad input names the field.
    auto bad = given;
    bad["snr_db"] = std::vector<std::string>{"loud"};
    try {
        test_support::registry().make_task("noise_detection", ecgbench::validate_params(plugin.manifest().params, bad));
        ADD_FAILURE() << "snr_db 'loud' accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("snr_db"), std::string::npos) << e.what();
    }
    bad = given;
    bad["noise_records"] = std::vector<std::string>{(dir / "absent").string()};
    auto missing = test_support::registry().make_task("noise_detection", ecgbench::validate_params(plugin.manifest().params, bad));
    try {
        missing->evaluate(ctx);
        ADD_FAILURE() << "an absent noise record was accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("noise_records"), std::string::npos) << e.what();
    }
    fs::remove_all(dir);
}

}  // namespace
