// The Pan-Tompkins QRS detector (dsp::detect_qrs) on pulse trains with known beat times, against
// the reference beat annotations of real records (MIT-BIH 100 and the whole DS1 records, CPSC 2021
// AF records, LUDB), and the `beats` and `window` pipeline steps built on it, on whole half-hour
// records with bounded memory.
#include "ecgbench/dsp.hpp"
#include "ecgbench/wfdb.hpp"
#include "preprocess/pipeline.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
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

/// Reference beats, detections, and detections matching a reference beat within `tolerance`
/// samples, each at most once (ANSI/AAMI EC57 style).
struct Matches {
    std::size_t reference = 0, detected = 0, matched = 0;
    double se() const { return static_cast<double>(matched) / static_cast<double>(std::max<std::size_t>(1, reference)); }
    double ppv() const { return static_cast<double>(matched) / static_cast<double>(std::max<std::size_t>(1, detected)); }
    Matches& operator+=(const Matches& o) {
        reference += o.reference;
        detected += o.detected;
        matched += o.matched;
        return *this;
    }
};
Matches match(const std::vector<std::int64_t>& reference, const std::vector<std::int64_t>& detected, std::int64_t tolerance) {
    Matches m{reference.size(), detected.size(), 0};
    std::size_t j = 0;
    for (const std::int64_t r : reference) {
        while (j < detected.size() && detected[j] < r - tolerance) ++j;
        if (j < detected.size() && std::abs(detected[j] - r) <= tolerance) {
            ++m.matched;
            ++j;
        }
    }
    return m;
}

/// Sensitivity and positive predictivity of `detected` against `reference` (see match()).
std::pair<double, double> se_ppv(const std::vector<std::int64_t>& reference, const std::vector<std::int64_t>& detected,
                                 std::int64_t tolerance) {
    const Matches m = match(reference, detected, tolerance);
    return {m.se(), m.ppv()};
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
    std::vector<std::string> names;  ///< the header's signal descriptions ("MLII", "V1", ...)
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
        r.names.push_back(h.signals[s].description);
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

namespace {

/// The 22 records of de Chazal's DS1, in ../shared/data/mitdb.
const std::vector<std::string> kDs1{"101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122",
                                    "124", "201", "203", "205", "207", "208", "209", "215", "220", "223", "230"};

/// Growth of this process's peak resident memory from construction, in MiB. On Linux the peak
/// (VmHWM) is reset through /proc/self/clear_refs, so an earlier, higher peak of another test does
/// not hide this one; where that is refused, the growth of ru_maxrss (which can only underestimate).
class PeakRss {
public:
    PeakRss() {
        const int fd = ::open("/proc/self/clear_refs", O_WRONLY);
        reset_ = fd >= 0 && ::write(fd, "5", 1) == 1 && status_kib("VmHWM:") > 0;
        if (fd >= 0) ::close(fd);
        start_kib_ = reset_ ? status_kib("VmRSS:") : maxrss_kib();
    }
    double grown_mib() const { return static_cast<double>((reset_ ? status_kib("VmHWM:") : maxrss_kib()) - start_kib_) / 1024.0; }
    const char* how() const { return reset_ ? "VmHWM after a reset" : "ru_maxrss"; }

private:
    static long status_kib(const char* key) {
        std::ifstream status("/proc/self/status");
        for (std::string line; std::getline(status, line);)
            if (line.rfind(key, 0) == 0) return std::stol(line.substr(std::strlen(key)));
        return 0;
    }
    static long maxrss_kib() {
        rusage usage{};
        getrusage(RUSAGE_SELF, &usage);
        return usage.ru_maxrss;  // KiB on Linux
    }
    bool reset_ = false;
    long start_kib_ = 0;
};

/// `n` samples of two leads like pulse_train() (lead 1 at 0.6 times lead 0, its own noise), built
/// beat by beat so that half-hour records are quick: RR 0.8 s +- 15 %. Returns the beat count.
std::int64_t long_record(float* lead0, float* lead1, std::int64_t n, double fs, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> gauss(0.0, 0.02);
    std::uniform_real_distribution<double> rr(0.68, 0.92);
    for (std::int64_t i = 0; i < n; ++i) {
        const double wander = 0.5 * std::sin(2 * kPi * 0.4 * static_cast<double>(i) / fs);
        lead0[i] = static_cast<float>(wander + gauss(rng));
        lead1[i] = static_cast<float>(0.6 * wander + gauss(rng));
    }
    std::int64_t beats = 0;
    for (double beat = 0.5; beat * fs < static_cast<double>(n); beat += rr(rng), ++beats) {
        const auto from = std::max<std::int64_t>(0, std::llround((beat - 0.1) * fs));
        const auto to = std::min<std::int64_t>(n, std::llround((beat + 0.5) * fs));
        for (std::int64_t i = from; i < to; ++i) {
            const double t = static_cast<double>(i) / fs - beat;
            const double v = 1.2 * std::exp(-0.5 * std::pow(t / 0.012, 2)) + 0.3 * std::exp(-0.5 * std::pow((t - 0.25) / 0.05, 2));
            lead0[i] += static_cast<float>(v);
            lead1[i] += static_cast<float>(0.6 * v);
        }
    }
    return beats;
}

bool same_value(float a, float b) { return (std::isnan(a) && std::isnan(b)) || a == b; }

/// The record and the R sample of a beat id "<record>@r<sample>".
std::string record_of(const std::string& id) { return id.substr(0, id.rfind("@r")); }
std::int64_t r_of(const std::string& id) { return std::stoll(id.substr(id.rfind("@r") + 2)); }

}  // namespace

TEST(Pipeline, BeatsAndWindowsOfHalfHourRecordsNeedMemoryForTheOutputOnly) {
    // Four 30-minute two-lead records at 360 Hz: 20 MiB of signal, about 9,000 beats. Repeating
    // each whole record once per beat before cutting (as the steps once did) would need
    // 9,000 x 2 x 650,000 x 4 B = 47 GB, and per 10 s window 3.7 GB. What may grow is the
    // pipeline's working copy of the input (20 MiB), the detector's buffers for one record
    // (about 30 MiB), and the output (18 MiB of beats; 20 MiB of windows).
    constexpr double fs = 360;
    constexpr std::int64_t records = 4, n = 650000;
    EcgSplit in;
    in.signals = at::empty({records, 2, n}, at::kFloat);
    std::int64_t true_beats = 0;
    for (std::int64_t r = 0; r < records; ++r) {
        float* lead0 = in.signals.data_ptr<float>() + r * 2 * n;
        true_beats += long_record(lead0, lead0 + n, n, fs, static_cast<unsigned>(r + 1));
    }
    in.lead_present = at::ones({records, 2}, at::kBool);
    in.labels = at::eye(records, at::kFloat);
    in.subjects = at::arange(records, at::kLong) * 10;
    in.record_ids = {"h0", "h1", "h2", "h3"};
    in.texts = {"sinus", "", "afib", "pvc"};
    in.covariates["age"] = at::tensor({40.0f, 50.0f, 60.0f, 70.0f});
    const Pipeline beats({{"beats", validate_params(preprocess_step_schema("beats"), {})}});
    const Pipeline windows({{"window", validate_params(preprocess_step_schema("window"), {{"seconds", 10.0}})}});

    const PeakRss peak;
    const EcgSplit b = beats.apply(in, fs);
    const EcgSplit w = windows.apply(in, fs);
    const double grown = peak.grown_mib();
    std::printf("4 half-hour records at 360 Hz, beats then 10 s windows: peak RSS grew %.1f MiB (%s)\n", grown, peak.how());
    EXPECT_LT(grown, 128.0);

    // Every beat but the first of each record (no 250 ms before it) and perhaps the last.
    EXPECT_GE(b.size(), true_beats - 2 * records);
    EXPECT_LE(b.size(), true_beats);
    EXPECT_EQ(b.signals.sizes(), (at::IntArrayRef{b.size(), 2, 252}));
    EXPECT_EQ(b.texts.size(), static_cast<std::size_t>(b.size()));
    for (std::int64_t k = 0; k < b.size(); k += 997) {
        const std::string& id = b.record_ids[static_cast<std::size_t>(k)];
        const std::int64_t r = id[1] - '0', peak_at = r_of(id);
        EXPECT_TRUE(at::equal(b.signals[k], in.signals[r].narrow(1, peak_at - 90, 252))) << id;
        EXPECT_EQ(b.texts[static_cast<std::size_t>(k)], in.texts[static_cast<std::size_t>(r)]) << id;
        EXPECT_EQ(b.subjects[k].item<std::int64_t>(), r * 10) << id;
        EXPECT_EQ(b.labels[k][r].item<float>(), 1.0f) << id;
    }
    ASSERT_EQ(w.size(), records * 180);  // 650,000 samples hold 180 whole 3,600-sample windows
    EXPECT_EQ(w.record_ids[181], "h1@3600");
    EXPECT_TRUE(at::equal(w.signals[181], in.signals[1].narrow(1, 3600, 3600)));
    EXPECT_TRUE(at::equal(w.signals[719], in.signals[3].narrow(1, 179 * 3600, 3600)));
    EXPECT_FLOAT_EQ(w.covariates.at("age")[540].item<float>(), 70.0f);
}

TEST(Pipeline, BeatsOverWholeMitBihRecordsEqualTheBeatsOverTheirFirstMinute) {
    const fs::path dir = kShared / "mitdb";
    if (!fs::exists(dir / (kDs1.back() + ".atr"))) GTEST_SKIP() << "shared MIT-BIH DS1 records absent: " << dir;
    constexpr double fs = 360;
    const auto count = static_cast<std::int64_t>(kDs1.size());
    EcgSplit whole;
    for (std::int64_t i = 0; i < count; ++i) {
        const Record r = read_record(dir / kDs1[static_cast<std::size_t>(i)]);
        ASSERT_EQ(r.fs, fs);
        ASSERT_EQ(r.leads.size(), 2u);
        if (i == 0) whole.signals = at::empty({count, 2, r.n}, at::kFloat);
        ASSERT_EQ(r.n, whole.signals.size(2));
        const std::size_t mlii = r.names[0] == "MLII" ? 0 : 1;  // MLII first (record 114 has it second)
        for (std::size_t l = 0; l < 2; ++l)
            std::copy(r.leads[l == 0 ? mlii : 1 - mlii].begin(), r.leads[l == 0 ? mlii : 1 - mlii].end(),
                      whole.signals[i][static_cast<std::int64_t>(l)].data_ptr<float>());
    }
    whole.lead_present = at::ones({count, 2}, at::kBool);
    whole.labels = at::zeros({count, 1});
    whole.subjects = at::arange(count, at::kLong);
    whole.record_ids = kDs1;
    EcgSplit minute = whole;
    minute.signals = whole.signals.narrow(2, 0, 60 * 360).contiguous();
    const Pipeline p({{"beats", validate_params(preprocess_step_schema("beats"), {})}});

    const PeakRss peak;
    const EcgSplit all = p.apply(whole, fs);
    const double grown = peak.grown_mib();
    const EcgSplit head = p.apply(minute, fs);
    std::printf("beats of the %lld whole DS1 records (%.0f MiB of signal): %lld beats, peak RSS grew %.1f MiB (%s)\n",
                static_cast<long long>(count), static_cast<double>(whole.signals.numel()) * 4 / (1 << 20),
                static_cast<long long>(all.size()), grown, peak.how());
    EXPECT_GT(all.size(), 45000);  // DS1 has 51,020 annotated beats

    // The zero-phase filters run backwards from a record's end, so detections in the last
    // seconds of the minute may differ from the whole record's: compare beats up to 2 s before it.
    const std::int64_t until = 58 * 360;
    std::map<std::string, std::int64_t> row_of;
    std::int64_t in_whole = 0;
    for (std::int64_t k = 0; k < all.size(); ++k) {
        const std::string& id = all.record_ids[static_cast<std::size_t>(k)];
        row_of[id] = k;
        in_whole += r_of(id) < until;
    }
    std::int64_t compared = 0;
    for (std::int64_t k = 0; k < head.size(); ++k) {
        const std::string& id = head.record_ids[static_cast<std::size_t>(k)];
        if (r_of(id) >= until) continue;
        const auto it = row_of.find(id);
        ASSERT_NE(it, row_of.end()) << id << " is a beat of the first minute only";
        const std::int64_t j = it->second;
        EXPECT_TRUE(at::equal(head.signals[k], all.signals[j])) << id;
        EXPECT_TRUE(same_value(head.covariates.at("rr_prev_ms")[k].item<float>(), all.covariates.at("rr_prev_ms")[j].item<float>())) << id;
        const std::string next = k + 1 < head.size() ? head.record_ids[static_cast<std::size_t>(k + 1)] : "";
        const bool next_inside = !next.empty() && record_of(next) == record_of(id) && r_of(next) < until;
        if (next_inside) {
            EXPECT_EQ(head.covariates.at("rr_next_ms")[k].item<float>(), all.covariates.at("rr_next_ms")[j].item<float>()) << id;
        }
        EXPECT_EQ(head.subjects[k].item<std::int64_t>(), all.subjects[j].item<std::int64_t>()) << id;
        ++compared;
    }
    EXPECT_EQ(compared, in_whole) << "beats of the whole records in the first 58 s missing over the first minute";
    EXPECT_GT(compared, 22 * 50);
    std::printf("%lld beats in the first 58 s: identical windows, ids and RR intervals\n", static_cast<long long>(compared));
}

TEST(Qrs, MitBihDs1WholeRecordsMatchTheReferenceBeats) {
    // Every annotated beat (beat codes only: no rhythm, noise or flutter-wave annotations) of the
    // 22 whole DS1 records, a detection within 150 ms, both leads and MLII alone.
    const fs::path dir = kShared / "mitdb";
    if (!fs::exists(dir / (kDs1.back() + ".atr"))) GTEST_SKIP() << "shared MIT-BIH DS1 records absent: " << dir;
    Matches both_total, mlii_total;
    std::printf("| record | beats | Se (2 leads) | +P (2 leads) | Se (MLII) | +P (MLII) |\n|---|---|---|---|---|---|\n");
    for (const std::string& name : kDs1) {
        const Record r = read_record(dir / name);
        const auto reference = reference_beats(dir / (name + ".atr"), r.n);
        const std::int64_t tolerance = std::llround(0.15 * r.fs);
        const Matches both = match(reference, detect(r), tolerance);
        const std::size_t mlii = r.names[0] == "MLII" ? 0 : 1;
        const Matches one = match(reference, dsp::detect_qrs({r.leads[mlii].data()}, r.n, r.fs), tolerance);
        std::printf("| %s | %zu | %.4f | %.4f | %.4f | %.4f |\n", name.c_str(), both.reference, both.se(), both.ppv(), one.se(), one.ppv());
        both_total += both;
        mlii_total += one;
    }
    std::printf("| total | %zu | %.4f | %.4f | %.4f | %.4f |\n", both_total.reference, both_total.se(), both_total.ppv(),
                mlii_total.se(), mlii_total.ppv());
    EXPECT_GE(both_total.se(), 0.99);
    EXPECT_GE(both_total.ppv(), 0.99);
    EXPECT_GE(mlii_total.se(), 0.99);
    EXPECT_GE(mlii_total.ppv(), 0.99);
}

TEST(Pipeline, BeatsAndWindowsRepeatEveryFieldOfTheirRecordExactly) {
    // What the steps computed before they stopped copying whole records per output window:
    // subset() of the input rows, then the signals cut at the window. Same bytes in every field.
    const double fs = 250;
    EcgSplit in;
    in.signals = at::zeros({3, 2, 2500});
    for (std::int64_t r = 0; r < 3; ++r) {
        std::vector<double> beats;
        for (double t = 0.4 + 0.1 * static_cast<double>(r); t < 9.7; t += 0.7 + 0.15 * static_cast<double>(r)) beats.push_back(t);
        const auto x = pulse_train(beats, fs, 10.0, 0.02);
        std::copy(x.begin(), x.end(), in.signals[r][0].data_ptr<float>());
        in.signals[r][1].copy_(in.signals[r][0] * (r == 1 ? 0.0f : -0.5f));
    }
    in.lead_present = at::tensor({1, 1, 1, 0, 1, 1}).to(at::kBool).reshape({3, 2});
    in.labels = at::tensor({1.0f, 0.0f, 0.0f, 1.0f, 1.0f, 1.0f}).reshape({3, 2});
    in.subjects = at::tensor(std::vector<std::int64_t>{4, 8, 15});
    in.record_ids = {"x", "y", "z"};
    in.texts = {"sinus", "", "afib"};
    in.covariates["age"] = at::tensor({50.0f, NAN, 61.0f});
    const std::map<std::string, std::int64_t> row_of{{"x", 0}, {"y", 1}, {"z", 2}};
    const auto same = [](const at::Tensor& a, const at::Tensor& b) {
        return a.sizes().equals(b.sizes()) && a.scalar_type() == b.scalar_type() &&
               at::equal(at::isnan(a), at::isnan(b)) && at::equal(at::nan_to_num(a), at::nan_to_num(b));
    };
    const PreprocessStep beats{"beats", validate_params(preprocess_step_schema("beats"), {{"before_ms", 100.0}, {"after_ms", 300.0}})};
    const PreprocessStep windows{"window", validate_params(preprocess_step_schema("window"), {{"seconds", 2.0}, {"stride_s", 1.5}})};
    for (const PreprocessStep& step : {beats, windows}) {
        const EcgSplit out = Pipeline({step}).apply(in, fs);
        ASSERT_GE(out.size(), 18) << step.step;  // 6 windows a record; about 13 beats
        std::vector<std::int64_t> rows;
        std::vector<at::Tensor> cut;
        for (const std::string& id : out.record_ids) {
            const std::size_t at_sign = id.find('@');
            rows.push_back(row_of.at(id.substr(0, at_sign)));
            const std::int64_t start = step.step == "beats" ? r_of(id) - 25 : std::stoll(id.substr(at_sign + 1));
            cut.push_back(in.signals[rows.back()].narrow(1, start, out.signals.size(2)));
        }
        const EcgSplit expected = subset(in, at::tensor(rows, at::kLong));
        EXPECT_TRUE(same(out.signals, at::stack(cut))) << step.step;
        EXPECT_TRUE(same(out.lead_present, expected.lead_present)) << step.step;
        EXPECT_TRUE(same(out.labels, expected.labels)) << step.step;
        EXPECT_TRUE(same(out.subjects, expected.subjects)) << step.step;
        EXPECT_EQ(out.texts, expected.texts) << step.step;
        EXPECT_TRUE(same(out.covariates.at("age"), expected.covariates.at("age"))) << step.step;
        EXPECT_EQ(out.covariates.size(), step.step == "beats" ? 3u : 1u) << step.step;
    }
}
