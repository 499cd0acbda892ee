// The synthetic cohort generator (harness/src/synth): physiology, rhythms, labels, noise, export.
#include "ecgbench/synth.hpp"

#include "ecgbench/params.hpp"
#include "ecgbench/wfdb.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <complex>
#include <cstdio>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace ecgbench::synth;

namespace {

CohortConfig small(std::int64_t records = 60, double fs = 500, double seconds = 10) {
    CohortConfig c;
    c.seed = 7;
    c.records = records;
    c.site.sampling_rate = fs;
    c.site.duration_s = seconds;
    return c;
}

struct Generated {
    Record record;
    std::vector<float> signal;  // [12][T]
};

Generated make(const Cohort& cohort, std::int64_t i, bool noise = true) {
    Generated g;
    g.signal.resize(static_cast<std::size_t>(kLeadCount * cohort.samples()));
    g.record = cohort.generate(i, g.signal.data(), GenerateOptions{noise});
    return g;
}

const float* lead(const Generated& g, int k, std::int64_t T) { return g.signal.data() + k * T; }

double power(const std::vector<float>& x) {
    double p = 0;
    for (float v : x) p += static_cast<double>(v) * v;
    return p;
}

std::vector<double> rr_intervals(const Truth& t) {
    std::vector<double> rr;
    for (std::size_t i = 1; i < t.beats.size(); ++i) rr.push_back(t.beats[i].r_s - t.beats[i - 1].r_s);
    return rr;
}

/// RMS of successive RR differences relative to the mean RR: beat-to-beat irregularity.
double relative_rmssd(const Truth& t) {
    const auto rr = rr_intervals(t);
    if (rr.size() < 3) return 0;
    double sq = 0;
    for (std::size_t i = 1; i < rr.size(); ++i) sq += (rr[i] - rr[i - 1]) * (rr[i] - rr[i - 1]);
    const double mean = std::accumulate(rr.begin(), rr.end(), 0.0) / static_cast<double>(rr.size());
    return std::sqrt(sq / static_cast<double>(rr.size() - 1)) / mean;
}

bool has(const std::vector<Statement>& s, Statement x) { return std::find(s.begin(), s.end(), x) != s.end(); }

std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

}  // namespace

TEST(SynthRisk, FraminghamMatchesThePublishedExamples) {
    // D'Agostino et al. 2008, worked examples: woman 61 y, TC 180, HDL 47, untreated SBP 124,
    // smoker -> 10.48 %; man 53 y, TC 161, HDL 55, treated SBP 125, diabetic -> 15.62 %.
    EXPECT_NEAR(framingham_risk(61, false, 180, 47, 124, false, true, false), 10.48, 0.01);
    EXPECT_NEAR(framingham_risk(53, true, 161, 55, 125, true, false, true), 15.62, 0.01);
    // Every factor raises risk.
    const double base = framingham_risk(50, true, 200, 50, 120, false, false, false);
    EXPECT_NEAR(base, 7.24, 0.01);
    EXPECT_GT(framingham_risk(60, true, 200, 50, 120, false, false, false), base);
    EXPECT_GT(framingham_risk(50, true, 200, 50, 120, false, true, false), base);
    EXPECT_LT(framingham_risk(50, true, 200, 70, 120, false, false, false), base);
}

TEST(SynthParams, DefaultsValidateAndInconsistentValuesAreNamed) {
    const auto params = ecgbench::validate_params(param_specs(), {});
    const CohortConfig c = config_from_params(params);
    EXPECT_EQ(c.samples(), 1000);
    EXPECT_EQ(c.label_set, "superdiagnostic");
    try {
        config_from_params(ecgbench::validate_params(param_specs(), {{"records", std::int64_t{10}}, {"records_per_subject", std::int64_t{5}}}));
        FAIL() << "2 subjects cannot fill 3 splits";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("records_per_subject"), std::string::npos) << e.what();
    }
    EXPECT_THROW(config_from_params(ecgbench::validate_params(param_specs(), {{"prevalence_af", 0.6}, {"prevalence_flutter", 0.5}})),
                 std::invalid_argument);
}

TEST(SynthLabels, LabelSetsFollowPtbxlStatements) {
    EXPECT_EQ(label_set_classes("superdiagnostic"), (std::vector<std::string>{"NORM", "MI", "STTC", "CD", "HYP"}));
    EXPECT_EQ(label_set_classes("rhythm"), (std::vector<std::string>{"SR", "SBRAD", "STACH", "AFIB", "AFLT"}));
    EXPECT_EQ(label_set_classes("diagnostic").size(), 11u);
    EXPECT_EQ(label_set_classes("form").size(), 2u);
    EXPECT_EQ(label_set_classes("all").size(), static_cast<std::size_t>(kStatementCount));
    EXPECT_THROW(label_set_classes("everything"), std::invalid_argument);

    Findings f;
    f.rhythms = {Rhythm::Sinus};
    EXPECT_EQ(f.statements(), (std::vector<Statement>{Statement::NORM, Statement::SR}));
    f.lbbb = true;
    f.mi = Territory::Inferior;
    f.rhythms = {Rhythm::Sinus, Rhythm::Af};
    const auto s = f.statements();
    EXPECT_FALSE(has(s, Statement::NORM));
    EXPECT_EQ(label_vector("superdiagnostic", s), (std::vector<float>{0, 1, 0, 1, 0}));
    EXPECT_EQ(label_vector("rhythm", s), (std::vector<float>{1, 0, 0, 1, 0}));
    const auto codes = f.snomed_codes();
    for (const char* code : {"164865005", "733534002", "426783006", "164889003"})
        EXPECT_NE(std::find(codes.begin(), codes.end(), code), codes.end()) << code;
    // An arrhythmia alone is not NORM.
    Findings pvc;
    pvc.rhythms = {Rhythm::Sinus};
    pvc.pvc = true;
    EXPECT_FALSE(has(pvc.statements(), Statement::NORM));
}

TEST(SynthSignal, LimbLeadsObeyEinthovenAndGoldbergerExactly) {
    const Cohort cohort(small(12));
    const std::int64_t T = cohort.samples();
    for (std::int64_t i = 0; i < 12; ++i) {
        const Generated g = make(cohort, i);
        const float *I = lead(g, 0, T), *II = lead(g, 1, T);
        for (std::int64_t n = 0; n < T; ++n) {
            ASSERT_EQ(lead(g, 2, T)[n], II[n] - I[n]) << "record " << i << " sample " << n;
            ASSERT_EQ(lead(g, 3, T)[n], -(I[n] + II[n]) / 2.0f);
            ASSERT_EQ(lead(g, 4, T)[n], I[n] - II[n] / 2.0f);
            ASSERT_EQ(lead(g, 5, T)[n], II[n] - I[n] / 2.0f);
        }
    }
}

TEST(SynthSignal, SameSeedSameRecordDifferentSeedDifferentRecord) {
    const Cohort a(small(20)), b(small(20));
    CohortConfig other = small(20);
    other.seed = 8;
    const Cohort c(other);
    for (std::int64_t i : {0, 7, 19}) {
        const Generated x = make(a, i), y = make(b, i), z = make(c, i);
        EXPECT_EQ(x.signal, y.signal);
        EXPECT_EQ(x.record.report, y.record.report);
        EXPECT_NE(x.signal, z.signal);
    }
}

TEST(SynthSignal, AmplitudesAndIntervalsArePhysiological) {
    CohortConfig config = small(300);
    config.site.snr_db = 100;  // clean enough to measure
    const Cohort cohort(config);
    const std::int64_t T = cohort.samples();
    int normals = 0;
    for (std::int64_t i = 0; i < config.records; ++i) {
        const Generated g = make(cohort, i);
        const Record& r = g.record;
        const auto statements = r.findings.statements();
        for (int k = 0; k < kLeadCount; ++k) {
            const auto [lo, hi] = std::minmax_element(lead(g, k, T), lead(g, k, T) + T);
            const double peak_to_peak = *hi - *lo;
            EXPECT_GT(peak_to_peak, 0.05) << r.id << " lead " << lead_names()[static_cast<std::size_t>(k)];
            EXPECT_LT(peak_to_peak, 8.0) << r.id << " lead " << lead_names()[static_cast<std::size_t>(k)];
        }
        if (has(statements, Statement::NORM)) {
            ++normals;
            EXPECT_GE(r.truth.pr_ms, 110) << r.id;
            EXPECT_LE(r.truth.pr_ms, 200) << r.id;
            EXPECT_GE(r.truth.qrs_ms, 70) << r.id;
            EXPECT_LE(r.truth.qrs_ms, 112) << r.id;
            EXPECT_GE(r.truth.qtc_ms, 365) << r.id;
            EXPECT_LE(r.truth.qtc_ms, 456) << r.id;
            EXPECT_GE(r.truth.hr_bpm, 55) << r.id;
            EXPECT_LE(r.truth.hr_bpm, 105) << r.id;
        }
        if (has(statements, Statement::AVB1)) { EXPECT_GT(r.truth.pr_ms, 210) << r.id; }
        if (has(statements, Statement::CLBBB) || has(statements, Statement::CRBBB)) { EXPECT_GE(r.truth.qrs_ms, 120) << r.id; }
        if (has(statements, Statement::LNGQT)) { EXPECT_GE(r.truth.qtc_ms, 470) << r.id; }
        if (has(statements, Statement::SBRAD)) { EXPECT_LT(r.truth.requested_hr_bpm, 60) << r.id; }
        if (has(statements, Statement::STACH)) { EXPECT_GT(r.truth.requested_hr_bpm, 100) << r.id; }
    }
    EXPECT_GT(normals, 30);
}

TEST(SynthRhythm, HeartRateFromBeatTimesMatchesTheRequest) {
    CohortConfig config = small(200);
    config.hrv_scale = 0;  // metronome: beat times must give exactly the requested rate
    config.prevalence.pvc = config.prevalence.pac = config.prevalence.af = 0;
    const Cohort cohort(config);
    for (std::int64_t i = 0; i < config.records; ++i) {
        const Record r = make(cohort, i).record;
        if (r.findings.rhythm == Rhythm::Flutter) {  // regular but 2:1 <-> 4:1 switches allowed
            EXPECT_GT(r.truth.hr_bpm, 0.4 * r.truth.requested_hr_bpm) << r.id;
            continue;
        }
        EXPECT_NEAR(r.truth.hr_bpm, r.truth.requested_hr_bpm, 0.005 * r.truth.requested_hr_bpm) << r.id;
    }
    // With HRV the rate still averages to the request.
    config.hrv_scale = 1;
    const Cohort variable(config);
    double error = 0;
    int n = 0;
    for (std::int64_t i = 0; i < config.records; ++i) {
        const Record r = make(variable, i).record;
        if (r.findings.rhythm == Rhythm::Flutter) continue;
        error += std::fabs(r.truth.hr_bpm / r.truth.requested_hr_bpm - 1);
        ++n;
    }
    EXPECT_LT(error / n, 0.04);
}

TEST(SynthRhythm, AfIsIrregularWithoutPWavesAndSinusHasBoth) {
    CohortConfig config = small(300);
    config.prevalence.af = 0.5;
    config.prevalence.flutter = 0;
    config.prevalence.pvc = config.prevalence.pac = 0;
    config.paroxysmal_rate = 0;
    config.site.snr_db = 100;
    const Cohort cohort(config);
    const std::int64_t T = cohort.samples();
    const double fs = config.site.sampling_rate;
    int af = 0, sinus = 0, af_irregular = 0, sinus_regular = 0;
    for (std::int64_t i = 0; i < config.records; ++i) {
        const Generated g = make(cohort, i, false);
        const Record& r = g.record;
        const bool is_af = r.findings.rhythm == Rhythm::Af;
        // P waves: ground truth, and in lead II the P window rises above the preceding baseline
        // (checked after long RR intervals only, where the P does not ride on the previous T).
        double p_rise = 0;
        int beats = 0;
        for (std::size_t k = 0; k < r.truth.beats.size(); ++k) {
            const Beat& b = r.truth.beats[k];
            if (is_af) {
                EXPECT_TRUE(std::isnan(b.p_on)) << r.id;
                continue;
            }
            ASSERT_FALSE(std::isnan(b.p_on)) << r.id;
            const auto on = static_cast<std::int64_t>(b.p_on * fs), off = static_cast<std::int64_t>(b.p_off * fs);
            if (on - 10 < 0 || off >= T || k == 0 || b.r_s - r.truth.beats[k - 1].r_s < 0.75) continue;
            double peak = -1e9;
            for (std::int64_t n = on; n <= off; ++n) peak = std::max(peak, static_cast<double>(lead(g, 1, T)[n]));
            p_rise += peak - lead(g, 1, T)[on - 5];
            ++beats;
        }
        if (is_af) {
            ++af;
            af_irregular += relative_rmssd(r.truth) > 0.12;
        } else {
            ++sinus;
            sinus_regular += relative_rmssd(r.truth) < 0.12;
            if (beats > 0) { EXPECT_GT(p_rise / beats, 0.02) << r.id << ": no visible P wave in lead II"; }
        }
    }
    ASSERT_GT(af, 60);
    ASSERT_GT(sinus, 60);
    EXPECT_GT(af_irregular, 0.9 * af);
    EXPECT_GT(sinus_regular, 0.9 * sinus);
}

TEST(SynthNoise, RequestedSnrIsMetWithinOneDecibel) {
    for (double snr : {0.0, 10.0, 20.0, 30.0}) {
        CohortConfig config = small(12);
        config.site.snr_db = snr;
        config.site.snr_spread_db = 0;
        const Cohort cohort(config);
        for (std::int64_t i = 0; i < 12; ++i) {
            const Generated noisy = make(cohort, i, true), clean = make(cohort, i, false);
            std::vector<float> noise(noisy.signal.size());
            for (std::size_t k = 0; k < noise.size(); ++k) noise[k] = noisy.signal[k] - clean.signal[k];
            const double measured = 10 * std::log10(power(clean.signal) / power(noise));
            EXPECT_NEAR(measured, snr, 1.0) << "record " << i;
            EXPECT_NEAR(noisy.record.truth.snr_db, snr, 1e-9);
            EXPECT_TRUE(std::isinf(clean.record.truth.snr_db));
        }
    }
}

TEST(SynthNoise, PowerlineShowsAtTheMainsFrequency) {
    for (double mains : {50.0, 60.0}) {
        CohortConfig config = small(3);
        config.site.noise_baseline = config.site.noise_muscle = config.site.noise_motion = 0;
        config.site.noise_powerline = 1;
        config.site.powerline_hz = mains;
        config.site.snr_db = 0;
        config.site.snr_spread_db = 0;
        const Cohort cohort(config);
        const Generated noisy = make(cohort, 0), clean = make(cohort, 0, false);
        const std::int64_t T = cohort.samples();
        // Correlate lead I's noise with sinusoids at the mains frequency and at 55 Hz.
        auto amplitude_at = [&](double hz) {
            double re = 0, im = 0;
            for (std::int64_t n = 0; n < T; ++n) {
                const double x = noisy.signal[static_cast<std::size_t>(n)] - clean.signal[static_cast<std::size_t>(n)];
                re += x * std::cos(2 * M_PI * hz * static_cast<double>(n) / 500.0);
                im += x * std::sin(2 * M_PI * hz * static_cast<double>(n) / 500.0);
            }
            return std::hypot(re, im) / static_cast<double>(T);
        };
        EXPECT_GT(amplitude_at(mains), 20 * amplitude_at(55.0)) << mains;
    }
}

TEST(SynthCohort, PrevalenceConfoundingAndMissingness) {
    CohortConfig config = small(1500, 100, 2.5);
    config.covariate_missing_rate = 0.2;
    config.prevalence.af = 0.2;
    const Cohort confounded(config);
    config.confounding = false;
    const Cohort independent(config);
    auto stats = [&](const Cohort& cohort) {
        std::map<std::string, double> s;
        std::vector<float> signal(static_cast<std::size_t>(kLeadCount * cohort.samples()));
        int old = 0, young = 0, old_af = 0, young_af = 0, missing_age = 0, af = 0;
        for (std::int64_t i = 0; i < config.records; ++i) {
            const Record r = cohort.generate(i, signal.data());
            const bool is_af = std::find(r.findings.rhythms.begin(), r.findings.rhythms.end(), Rhythm::Af) != r.findings.rhythms.end();
            af += is_af;
            if (std::isnan(r.covariates.age)) {
                ++missing_age;
                continue;
            }
            if (r.covariates.age >= 70) old++, old_af += is_af;
            if (r.covariates.age < 50) young++, young_af += is_af;
        }
        s["af"] = static_cast<double>(af) / static_cast<double>(config.records);
        s["ratio"] = (static_cast<double>(old_af) / old) / std::max(1e-9, static_cast<double>(young_af) / young);
        s["missing"] = static_cast<double>(missing_age) / static_cast<double>(config.records);
        return s;
    };
    const auto c = stats(confounded), u = stats(independent);
    EXPECT_NEAR(c.at("af"), 0.2, 0.05);
    EXPECT_NEAR(u.at("af"), 0.2, 0.05);
    EXPECT_GT(c.at("ratio"), 3.0) << "AF should be far more common in the old when confounded";
    EXPECT_LT(u.at("ratio"), 2.0) << "and not when confounding is off";
    EXPECT_NEAR(c.at("missing"), 0.2, 0.04);
}

TEST(SynthCohort, SplitsArePatientDisjointAndVisitsShareTheSubject) {
    CohortConfig config = small(300, 100, 2.5);
    config.records_per_subject = 3;
    const Cohort cohort(config);
    std::vector<float> signal(static_cast<std::size_t>(kLeadCount * cohort.samples()));
    std::map<std::int64_t, std::set<int>> splits_of_subject;
    std::map<std::int64_t, std::set<double>> sex_of_subject;
    std::array<int, 3> counts{};
    for (std::int64_t i = 0; i < config.records; ++i) {
        const Record r = cohort.generate(i, signal.data());
        EXPECT_EQ(r.subject, i / 3);
        splits_of_subject[r.subject].insert(r.split);
        if (!std::isnan(r.covariates.sex)) sex_of_subject[r.subject].insert(r.covariates.sex);
        ++counts[static_cast<std::size_t>(r.split)];
    }
    for (const auto& [subject, splits] : splits_of_subject) EXPECT_EQ(splits.size(), 1u) << subject;
    for (const auto& [subject, sexes] : sex_of_subject) EXPECT_EQ(sexes.size(), 1u) << subject;
    EXPECT_NEAR(counts[0], 210, 15);
    EXPECT_NEAR(counts[1], 45, 15);
}

TEST(SynthReport, ReportsNameTheFindings) {
    CohortConfig config = small(400, 100, 5);
    config.report_omission_rate = 0;
    const Cohort cohort(config);
    std::vector<float> signal(static_cast<std::size_t>(kLeadCount * cohort.samples()));
    std::set<std::string> distinct;
    for (std::int64_t i = 0; i < config.records; ++i) {
        const Record r = cohort.generate(i, signal.data());
        const std::string text = lower(r.report);
        distinct.insert(text);
        ASSERT_FALSE(text.empty());
        const auto s = r.findings.statements();
        if (has(s, Statement::CLBBB)) { EXPECT_NE(text.find("lbbb") + text.find("left bundle"), 2 * std::string::npos) << text; }
        if (has(s, Statement::CRBBB)) { EXPECT_NE(text.find("rbbb") + text.find("right bundle"), 2 * std::string::npos) << text; }
        if (has(s, Statement::AFIB)) { EXPECT_TRUE(text.find("fibrillation") != std::string::npos || text.find("afib") != std::string::npos) << text; }
        if (has(s, Statement::NORM)) { EXPECT_TRUE(text.find("normal") != std::string::npos || text.find("no acute") != std::string::npos) << text; }
    }
    EXPECT_GT(distinct.size(), 100u) << "phrasing should vary";
}

TEST(SynthExport, WfdbOutputIsReadableAndIdenticalForAnyThreadCount) {
    CohortConfig config = small(9, 500, 4);
    config.site.lead_missing_rate = 0.1;
    const Cohort cohort(config);
    const fs::path root = fs::temp_directory_path() / ("ecgbench_synth_" + std::to_string(::getpid()));
    fs::remove_all(root);
    export_wfdb(cohort, root / "one", 1);
    export_wfdb(cohort, root / "two", 2);
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(root / "one")) names.push_back(entry.path().filename().string());
    EXPECT_EQ(names.size(), 9u * 4 + 1);  // .hea .dat .atr .fid per record + metadata.csv
    for (const auto& name : names) EXPECT_EQ(slurp(root / "one" / name), slurp(root / "two" / name)) << name;

    // Read back with the WFDB reader: lead names, 1 µV resolution, missing leads invalid.
    std::vector<float> signal(static_cast<std::size_t>(kLeadCount * cohort.samples()));
    const Record r = cohort.generate(4, signal.data());
    const auto header = ecgbench::wfdb::read_header(root / "one" / r.id);
    ASSERT_EQ(header.nsig, 12);
    EXPECT_EQ(header.signals[6].description, "V1");
    EXPECT_NE(std::find(header.comments.begin(), header.comments.end(), "Report: " + r.report), header.comments.end());
    const auto data = ecgbench::wfdb::read_signals(header);
    for (int k = 0; k < kLeadCount; ++k) {
        for (std::int64_t n = 0; n < cohort.samples(); n += 97) {
            const double v = data.physical(static_cast<std::size_t>(k), n);
            if (r.lead_present[static_cast<std::size_t>(k)]) {
                EXPECT_NEAR(v, signal[static_cast<std::size_t>(k * cohort.samples() + n)], 0.0005 + 1e-9);
            } else {
                EXPECT_TRUE(std::isnan(v));
            }
        }
    }
    const auto beats = ecgbench::wfdb::read_annotations(root / "one" / (r.id + ".atr"));
    std::size_t beat_count = 0;
    for (const auto& a : beats) beat_count += a.symbol != "+";
    EXPECT_EQ(beat_count, r.truth.beats.size());
    const auto csv = slurp(root / "one" / "metadata.csv");
    EXPECT_EQ(csv.substr(0, csv.find('\n')), metadata_csv_header());
    EXPECT_NE(csv.find(metadata_csv_row(r, config)), std::string::npos);
    fs::remove_all(root);
}

// ---------------------------------------------------------------------------------------------
// Realism against real records in ../shared/data (CinC 2021 incl. PTB-XL, LUDB): amplitude per
// lead, QRS width and PR interval, and spectral content of generated normals must fall inside the
// range the real records span. docs/synthetic-cohort.md reports these numbers.

namespace {

/// In-place radix-2 FFT (size a power of two), for power spectra in this test.
void fft(std::vector<std::complex<double>>& a) {
    const std::size_t n = a.size();
    for (std::size_t i = 1, j = 0; i < n; ++i) {
        std::size_t bit = n >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) std::swap(a[i], a[j]);
    }
    for (std::size_t len = 2; len <= n; len <<= 1) {
        const std::complex<double> w = std::polar(1.0, -2 * M_PI / static_cast<double>(len));
        for (std::size_t i = 0; i < n; i += len) {
            std::complex<double> z = 1;
            for (std::size_t k = 0; k < len / 2; ++k, z *= w) {
                const auto u = a[i + k], v = a[i + k + len / 2] * z;
                a[i + k] = u + v;
                a[i + k + len / 2] = u - v;
            }
        }
    }
}

struct RecordFeatures {
    std::array<double, kLeadCount> amplitude{};  // 0.5–99.5 percentile range per lead, mV
    double share_below_40hz = 0;                   // power in 0.5–40 Hz / power above 0.5 Hz
};

/// `leads` [12][T] in mV at `fs` (the first 4096 samples enter the spectrum).
RecordFeatures features(const std::vector<std::vector<double>>& leads, double fs) {
    RecordFeatures f;
    double low = 0, total = 0;
    for (std::size_t k = 0; k < leads.size(); ++k) {
        std::vector<double> x = leads[k];
        std::vector<double> sorted = x;
        std::sort(sorted.begin(), sorted.end());
        auto at = [&](double q) { return sorted[static_cast<std::size_t>(q * static_cast<double>(sorted.size() - 1))]; };
        f.amplitude[k] = at(0.995) - at(0.005);
        std::vector<std::complex<double>> spectrum(4096);
        for (std::size_t n = 0; n < spectrum.size(); ++n) spectrum[n] = x[n] - at(0.5);
        fft(spectrum);
        for (std::size_t b = 1; b < spectrum.size() / 2; ++b) {
            const double hz = static_cast<double>(b) * fs / static_cast<double>(spectrum.size());
            if (hz < 0.5) continue;
            const double p = std::norm(spectrum[b]);
            total += p;
            if (hz <= 40) low += p;
        }
    }
    f.share_below_40hz = low / total;
    return f;
}

std::vector<std::vector<double>> read_leads(const fs::path& record) {
    const auto data = ecgbench::wfdb::read_signals(record);
    std::vector<std::vector<double>> leads(static_cast<std::size_t>(kLeadCount));
    for (std::size_t k = 0; k < leads.size(); ++k)
        for (std::int64_t n = 0; n < data.rows; ++n) leads[k].push_back(data.physical(k, n));
    return leads;
}

double median_of(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

TEST(SynthRealism, GeneratedNormalsFallInsideTheRangeOfRealRecords) {
    const fs::path data(ECGBENCH_SHARED_DATA);
    const fs::path cinc = data / "torch_ecg" / "cinc2021", ludb = data / "ludb" / "data";
    if (std::string(ECGBENCH_SHARED_DATA).empty() || !fs::exists(cinc / "HR06000.hea") || !fs::exists(ludb / "1.hea")) {
        GTEST_SKIP() << "real records absent (ECGBENCH_SHARED_DATA='" ECGBENCH_SHARED_DATA "'): realism not checked";
    }
    // Real: the 9 CinC 2021 records and LUDB 1 (LUDB 8 is paced AF), all 12 leads, 500 Hz, 10 s.
    std::vector<RecordFeatures> real;
    for (const char* name : {"E07500", "E07501", "E07502", "HR06000", "HR06001", "HR06002", "JS20000", "JS20001", "JS20002"})
        real.push_back(features(read_leads(cinc / name), 500));
    real.push_back(features(read_leads(ludb / "1"), 500));
    // LUDB 1's delineation (lead ii): QRS and PR of every annotated beat.
    std::vector<double> real_qrs, real_pr;
    const auto marks = ecgbench::wfdb::read_annotations(ludb / "1.ii");
    double p_on = -1;
    for (std::size_t i = 1; i + 1 < marks.size(); ++i) {
        if (marks[i].symbol == "p" && marks[i - 1].symbol == "(") p_on = static_cast<double>(marks[i - 1].sample);
        if (marks[i].symbol != "N" || marks[i - 1].symbol != "(" || marks[i + 1].symbol != ")") continue;
        real_qrs.push_back(2.0 * static_cast<double>(marks[i + 1].sample - marks[i - 1].sample));  // 500 Hz: 2 ms/sample
        if (p_on >= 0) real_pr.push_back(2.0 * (static_cast<double>(marks[i - 1].sample) - p_on));
        p_on = -1;
    }
    ASSERT_GE(real_qrs.size(), 5u);
    ASSERT_GE(real_pr.size(), 5u);

    // Generated normals at the same rate and length, default site and noise.
    const Cohort cohort(small(160, 500, 10));
    std::vector<RecordFeatures> generated;
    std::vector<double> qrs, pr;
    for (std::int64_t i = 0; i < 160; ++i) {
        const Generated g = make(cohort, i);
        if (!has(g.record.findings.statements(), Statement::NORM)) continue;
        std::vector<std::vector<double>> leads(static_cast<std::size_t>(kLeadCount));
        for (int k = 0; k < kLeadCount; ++k) leads[static_cast<std::size_t>(k)].assign(lead(g, k, 5000), lead(g, k, 5000) + 5000);
        generated.push_back(features(leads, 500));
        qrs.push_back(g.record.truth.qrs_ms);
        pr.push_back(g.record.truth.pr_ms);
    }
    ASSERT_GT(generated.size(), 30u);
    std::printf("  %zu generated normals vs %zu real records\n", generated.size(), real.size());

    auto check = [](const char* what, double value, const std::vector<double>& reference) {
        const auto [lo, hi] = std::minmax_element(reference.begin(), reference.end());
        std::printf("  %-22s generated median %7.3f   real range [%7.3f, %7.3f]\n", what, value, *lo, *hi);
        EXPECT_GE(value, *lo) << what;
        EXPECT_LE(value, *hi) << what;
    };
    for (int k = 0; k < kLeadCount; ++k) {
        std::vector<double> ref, gen;
        for (const auto& r : real) ref.push_back(r.amplitude[static_cast<std::size_t>(k)]);
        for (const auto& r : generated) gen.push_back(r.amplitude[static_cast<std::size_t>(k)]);
        check(("amplitude mV " + lead_names()[static_cast<std::size_t>(k)]).c_str(), median_of(gen), ref);
    }
    std::vector<double> ref_share, gen_share;
    for (const auto& r : real) ref_share.push_back(r.share_below_40hz);
    for (const auto& r : generated) gen_share.push_back(r.share_below_40hz);
    check("power share 0.5-40 Hz", median_of(gen_share), ref_share);
    check("QRS ms", median_of(qrs), real_qrs);
    check("PR ms", median_of(pr), real_pr);
}
