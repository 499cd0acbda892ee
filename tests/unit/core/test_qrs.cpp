// The Pan-Tompkins QRS detector (dsp::detect_qrs) on pulse trains with known beat times, against
// the reference beat annotations of real records (MIT-BIH 100, CPSC 2021 AF records, LUDB), and the
// `beats` pipeline step built on it.
#include "dsp/dsp.hpp"
#include "ecgbench/wfdb.hpp"
#include "preprocess/pipeline.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <numbers>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace ecgbench;
namespace fs = std::filesystem;
constexpr double kPi = std::numbers::pi;

/// A crude ECG: a narrow QRS (Gaussian, sigma 12 ms, `amplitude` mV) at each beat, a broad T wave
/// 250 ms later (0.3 mV, sigma 50 ms), 0.4 Hz baseline wander of 0.5 mV and white noise.
std::vector<float> pulse_train(const std::vector<double>& beat_s, double fs, double seconds, double noise_mv,
                               const std::vector<double>& amplitude = {}) {
    const auto n = static_cast<std::int64_t>(seconds * fs);
    std::vector<float> x(static_cast<std::size_t>(n));
    std::mt19937 rng(7);
    std::normal_distribution<double> gauss(0.0, noise_mv);
    for (std::int64_t i = 0; i < n; ++i) {
        const double t = static_cast<double>(i) / fs;
        double v = 0.5 * std::sin(2 * kPi * 0.4 * t) + gauss(rng);
        for (std::size_t k = 0; k < beat_s.size(); ++k) {
            const double a = amplitude.empty() ? 1.2 : amplitude[k];
            v += a * std::exp(-0.5 * std::pow((t - beat_s[k]) / 0.012, 2)) +
                 0.3 * std::exp(-0.5 * std::pow((t - beat_s[k] - 0.25) / 0.05, 2));
        }
        x[static_cast<std::size_t>(i)] = static_cast<float>(v);
    }
    return x;
}

/// Sensitivity and positive predictivity of `detected` against `reference` (samples), a detection
/// matching a reference beat within `tolerance` samples at most once (ANSI/AAMI EC57 style).
std::pair<double, double> se_ppv(const std::vector<std::int64_t>& reference, const std::vector<std::int64_t>& detected,
                                 std::int64_t tolerance) {
    std::size_t j = 0, matched = 0;
    for (const std::int64_t r : reference) {
        while (j < detected.size() && detected[j] < r - tolerance) ++j;
        if (j < detected.size() && std::abs(detected[j] - r) <= tolerance) {
            ++matched;
            ++j;
        }
    }
    return {static_cast<double>(matched) / static_cast<double>(reference.size()),
            static_cast<double>(matched) / static_cast<double>(std::max<std::size_t>(1, detected.size()))};
}

const fs::path kShared = ECGBENCH_SHARED_DATA;

/// Beat annotations (N, L, R, V, A, ... : every beat code) of `record`.`annotator`, from `from` on.
std::vector<std::int64_t> reference_beats(const fs::path& file, std::int64_t until) {
    static const std::set<std::string> beat_symbols{"N", "L", "R", "B", "A", "a", "J", "S", "V", "r", "F", "e", "j", "n", "E", "/", "f", "Q", "?"};
    std::vector<std::int64_t> beats;
    for (const auto& a : wfdb::read_annotations(file))
        if (beat_symbols.count(wfdb::annotation_symbol(a.type)) && a.sample < until) beats.push_back(a.sample);
    return beats;
}

/// Every signal of `record` in physical units, and its rate and length.
struct Record {
    std::vector<std::vector<float>> leads;
    double fs = 0;
    std::int64_t n = 0;
};
Record read_record(const fs::path& record) {
    const wfdb::Header h = wfdb::read_header(record);
    const wfdb::SignalData d = wfdb::read_signals(h, {});
    Record r;
    r.fs = h.fs;
    r.n = d.rows;
    for (std::size_t s = 0; s < h.signals.size(); ++s) {
        std::vector<float> lead(static_cast<std::size_t>(d.rows));
        for (std::int64_t t = 0; t < d.rows; ++t) lead[static_cast<std::size_t>(t)] = static_cast<float>(d.physical(s, t));
        r.leads.push_back(std::move(lead));
    }
    return r;
}

std::vector<std::int64_t> detect(const Record& r) {
    std::vector<const float*> leads;
    for (const auto& l : r.leads) leads.push_back(l.data());
    return dsp::detect_qrs(leads, r.n, r.fs);
}

}  // namespace

TEST(Qrs, RegularAndIrregularPulseTrainsAreFoundWithinTwoSamples) {
    for (const double fs : {100.0, 250.0, 500.0}) {
        std::vector<double> regular;
        for (double t = 0.4; t < 9.8; t += 0.8) regular.push_back(t);
        std::vector<double> irregular{0.3, 0.75, 1.5, 1.9, 2.95, 3.3, 4.4, 4.8, 5.2, 6.6, 7.0, 7.7, 8.15, 9.4};
        std::vector<double> amplitude(irregular.size());
        for (std::size_t k = 0; k < amplitude.size(); ++k) amplitude[k] = k % 3 == 0 ? 0.6 : 1.4;  // varying R height
        for (const auto* beats : {&regular, &irregular}) {
            const auto x = pulse_train(*beats, fs, 10.0, 0.03, beats == &irregular ? amplitude : std::vector<double>{});
            const auto found = dsp::detect_qrs({x.data()}, static_cast<std::int64_t>(x.size()), fs);
            ASSERT_EQ(found.size(), beats->size()) << fs << " Hz";
            for (std::size_t k = 0; k < found.size(); ++k)
                EXPECT_NEAR(static_cast<double>(found[k]), (*beats)[k] * fs, 2.0) << fs << " Hz, beat " << k;
        }
    }
    // Nothing in a record under 1 s; rates under 50 Hz are refused.
    const auto flat = pulse_train({}, 250.0, 10.0, 0.02);
    EXPECT_TRUE(dsp::detect_qrs({flat.data()}, 200, 250.0).empty());
    EXPECT_THROW(dsp::detect_qrs({flat.data()}, 2500, 40.0), std::invalid_argument);
}

TEST(Qrs, MitBih100MatchesTheReferenceBeats) {
    const fs::path record = kShared / "wfdb-python" / "sample-data" / "100";
    if (!fs::exists(record.string() + ".atr")) GTEST_SKIP() << "shared MIT-BIH record 100 absent: " << record;
    const Record r = read_record(record);
    const auto [se, ppv] = se_ppv(reference_beats(record.string() + ".atr", r.n), detect(r), std::llround(0.15 * r.fs));
    EXPECT_GE(se, 0.995);
    EXPECT_GE(ppv, 0.995);
    std::printf("MIT-BIH 100: Se %.4f, +P %.4f\n", se, ppv);
}

TEST(Qrs, Cpsc2021AfRecordsMatchTheReferenceBeats) {
    const fs::path dir = kShared / "torch_ecg" / "cpsc2021";
    if (!fs::exists(dir / "data_8_4.atr")) GTEST_SKIP() << "shared CPSC 2021 records absent: " << dir;
    for (const char* name : {"data_8_4", "data_21_7", "data_92_12", "data_101_6"}) {
        const Record r = read_record(dir / name);
        const auto [se, ppv] = se_ppv(reference_beats(dir / (std::string(name) + ".atr"), r.n), detect(r), std::llround(0.15 * r.fs));
        EXPECT_GE(se, 0.97) << name;
        EXPECT_GE(ppv, 0.97) << name;
        std::printf("CPSC 2021 %s: Se %.4f, +P %.4f\n", name, se, ppv);
    }
}

TEST(Qrs, LudbRPeaksMatchTheCardiologistsDelineation) {
    const fs::path dir = kShared / "ludb" / "data";
    if (!fs::exists(dir / "1.ii")) GTEST_SKIP() << "shared LUDB records absent: " << dir;
    for (const char* name : {"1", "8"}) {
        const Record r = read_record(dir / name);
        std::vector<std::int64_t> peaks;  // LUDB marks each QRS peak with N between ( and )
        for (const auto& a : wfdb::read_annotations(dir / (std::string(name) + ".ii")))
            if (wfdb::annotation_symbol(a.type) == "N") peaks.push_back(a.sample);
        // LUDB delineates only the middle of the record: score detections inside that span.
        std::vector<std::int64_t> inside;
        for (std::int64_t d : detect(r))
            if (d >= peaks.front() - 50 && d <= peaks.back() + 50) inside.push_back(d);
        const auto [se, ppv] = se_ppv(peaks, inside, std::llround(0.05 * r.fs));  // 50 ms: R location, not just detection
        EXPECT_EQ(se, 1.0) << name;
        EXPECT_EQ(ppv, 1.0) << name;
    }
}

TEST(Pipeline, BeatsStepCutsOneWindowPerBeatWithRrCovariates) {
    const double fs = 250;
    std::vector<double> beats;
    for (double t = 0.5; t < 9.6; t += 1.0) beats.push_back(t);  // 10 beats, 60 bpm
    const auto x = pulse_train(beats, fs, 10.0, 0.02);
    EcgSplit in;
    in.signals = at::zeros({2, 2, 2500});
    std::copy(x.begin(), x.end(), in.signals.data_ptr<float>());  // record a, lead 0
    in.signals[1][1].copy_(in.signals[0][0]);                      // record b: the same beats on lead 1 only
    in.lead_present = at::tensor({1, 0, 0, 1}).to(at::kBool).reshape({2, 2});
    in.labels = at::tensor({1.0f, 0.0f}).reshape({2, 1});
    in.subjects = at::tensor({std::int64_t{4}, std::int64_t{8}});
    in.record_ids = {"a", "b"};
    in.covariates["age"] = at::tensor({50.0f, 60.0f});
    const PreprocessStep step{"beats", validate_params(preprocess_step_schema("beats"), {})};
    const Pipeline p({step});
    EXPECT_EQ(p.output_format(fs, 2500), (std::pair<double, std::int64_t>{250.0, 176}));  // 62.5 -> 63 + 112.5 -> 113 samples
    const EcgSplit out = p.apply(in, fs);
    // The first beat (0.5 s) leaves room for 250 ms before it and the last (9.5 s) 450 ms after.
    ASSERT_EQ(out.size(), 20);
    EXPECT_EQ(out.signals.sizes(), (at::IntArrayRef{20, 2, 176}));
    EXPECT_EQ(out.record_ids[0].rfind("a@r", 0), 0u) << out.record_ids[0];
    EXPECT_EQ(out.record_ids[10].rfind("b@r", 0), 0u) << out.record_ids[10];
    for (std::int64_t k = 0; k < 20; ++k) {
        const std::string& id = out.record_ids[static_cast<std::size_t>(k)];
        const std::int64_t r = std::stoll(id.substr(id.find("@r") + 2));
        EXPECT_NEAR(static_cast<double>(r), beats[static_cast<std::size_t>(k % 10)] * fs, 2.0) << id;
        // The window starts 63 samples (250 ms) before R: its QRS peak sits at sample 63.
        const std::int64_t lead = k < 10 ? 0 : 1;
        EXPECT_NEAR(out.signals[k][lead].argmax().item<std::int64_t>(), 63, 2) << id;
    }
    EXPECT_TRUE(std::isnan(out.covariates.at("rr_prev_ms")[0].item<float>()));
    EXPECT_NEAR(out.covariates.at("rr_prev_ms")[1].item<float>(), 1000.0f, 8.0f);
    EXPECT_NEAR(out.covariates.at("rr_next_ms")[8].item<float>(), 1000.0f, 8.0f);
    EXPECT_TRUE(std::isnan(out.covariates.at("rr_next_ms")[9].item<float>()));
    EXPECT_FLOAT_EQ(out.covariates.at("age")[15].item<float>(), 60.0f);
    EXPECT_EQ(out.subjects[3].item<std::int64_t>(), 4);
    EXPECT_FLOAT_EQ(out.labels[12][0].item<float>(), 0.0f);
    // The detector needs 50 Hz; a window longer than the records is refused.
    EXPECT_THROW(p.output_format(40, 2500), std::invalid_argument);
    EXPECT_THROW(p.output_format(250, 100), std::invalid_argument);
}
