// `synthetic`: a seeded, fast generator of labelled 12-lead ECG-like records, for smoke tests,
// quick-start experiments and CI where no real data may be shipped.
//
// What it models
//  * The heart as one time-varying 3-D dipole (x: patient's left, y: inferior, z: anterior). Each
//    beat is a sum of Gaussian bumps (P; septal q, two R components, S; a two-part asymmetric T),
//    each with its own direction, so leads see the QRS loop rotate (rS in V1, qR in V6, R-wave
//    progression). Leads are projections of that dipole: I, II and V1–V6 are recorded (with
//    electrode-placement jitter and lead gains), III, aVR, aVL, aVF are derived from I and II exactly
//    as an ECG cart does, so Einthoven/Goldberger identities hold to float rounding.
//  * Subjects: several records each sharing age, sex, heart axis, QRS loop orientation, voltage,
//    heart rate, PR/QT and chronic disease; records of one subject differ by visit-level jitter
//    (rate, voltage, axis, electrode positions, noise) and paroxysmal conditions (AF, STTC).
//  * Rhythm: sinus with respiratory sinus arrhythmia and small HRV, QT adapting to the preceding RR
//    (Bazett-like sqrt scaling); AF with i.i.d. irregular RR, no P waves and 4–9 Hz fibrillatory waves.
//  * Labels (PTB-XL superclasses, multi-label, co-occurrence allowed): MI (territory anterior /
//    inferior / lateral: pathological Q away from the territory, loss of R toward it, plus either ST
//    elevation or T inversion there; reciprocal changes come out of the projection), STTC (T
//    inversion, ST depression or flat T), CD (RBBB with R', LBBB, non-specific widening, or 1st-degree
//    AV block), HYP (LVH high voltage ± strain, or RVH with right axis and tall R in V1), AF;
//    NORM iff none of the others. Disease risk grows with age.
//  * Acquisition: per-lead baseline wander (`baseline_wander_mv`, small by default: see its spec),
//    white noise at `snr_db` relative to the record's clean RMS, an anti-alias blur matched to the
//    sampling rate, and a `site` that shifts noise, gain, wander, population age and class
//    prevalence (two sites make a held-out evaluation set).
// What it simplifies
//  * No ODE (ECGSYN) and no torso model: lead fields are fixed unit directions with gains.
//  * No ectopic beats, pacing, powerline interference, electrode motion artefacts or lead reversal.
//  * Morphology does not evolve within a record; disease effects are stylised, not diagnostic-grade.
//
// Determinism: every subject and record draws from its own mt19937_64 seeded from (seed, site,
// index), with our own uniform/normal transforms, so output is identical for any thread count and
// does not depend on the standard library's distribution implementations.
#include "ecgbench/dataset.hpp"
#include "ecgbench/leads.hpp"
#include "ecgbench/params.hpp"
#include "ecgbench/fingerprint.hpp"
#include "ecgbench/plugin.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <numbers>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

using ecgbench::DatasetInfo;
using ecgbench::EcgSplit;
using ecgbench::Params;
using ecgbench::ParamSpec;
using ecgbench::ParamType;
using ecgbench::Split;

/// Bump whenever the same params would produce different records (part of the fingerprint).
constexpr const char* kGeneratorVersion = "1";
constexpr int kLeadCount = 12;
constexpr double kPi = std::numbers::pi;

const std::vector<std::string>& lead_names() {
    static const std::vector<std::string> names{"I",  "II", "III", "aVR", "aVL", "aVF",
                                                "V1", "V2", "V3",  "V4",  "V5",  "V6"};
    return names;
}

enum Class : int { kNorm = 0, kMi, kSttc, kCd, kHyp, kAf, kClassCount };

const std::vector<std::string>& class_names() {
    static const std::vector<std::string> names{"NORM", "MI", "STTC", "CD", "HYP", "AF"};
    return names;
}

// ---------------------------------------------------------------------------------------------
// Parameters

const std::vector<ParamSpec>& schema() {
    static const std::vector<ParamSpec> specs{
        {"seed", ParamType::Int, std::int64_t{0}, "generator seed", 0.0, 9.0e15, {}},
        {"records", ParamType::Int, std::int64_t{1000}, "number of records (all splits)", 10.0, 1.0e6, {}},
        {"records_per_subject", ParamType::Int, std::int64_t{3}, "records sharing one subject's traits", 1.0,
         1000.0, {}},
        {"sampling_rate", ParamType::Float, 100.0, "sampling rate in Hz", 50.0, 2000.0, {}},
        {"duration_s", ParamType::Float, 2.5, "record length in seconds", 0.5, 120.0, {}},
        {"snr_db", ParamType::Float, 20.0, "white-noise SNR in dB relative to the clean record's RMS", -20.0,
         100.0, {}},
        // Kept small by default: independent per-lead drift is a record fingerprint that survives
        // augmentation, so contrastive methods learn it instead of morphology (SimCLR then does no
        // better than a random encoder at 0.12 mV); raise it to study that shortcut.
        {"baseline_wander_mv", ParamType::Float, 0.04,
         "peak amplitude (mV) of the slowest per-lead baseline wander component (site 0)", 0.0, 5.0, {}},
        {"site", ParamType::Int, std::int64_t{0},
         "acquisition site: 0 is the reference; others shift noise, gain, wander, age and prevalence", 0.0,
         1.0e6, {}},
        {"missing_covariate_rate", ParamType::Float, 0.05, "probability that age or sex is NaN", 0.0, 1.0, {}},
        {"prevalence_mi", ParamType::Float, 0.20, "fraction of records labelled MI (site 0)", 0.0, 0.95, {}},
        {"prevalence_sttc", ParamType::Float, 0.20, "fraction of records labelled STTC (site 0)", 0.0, 0.95, {}},
        {"prevalence_cd", ParamType::Float, 0.15, "fraction of records labelled CD (site 0)", 0.0, 0.95, {}},
        {"prevalence_hyp", ParamType::Float, 0.12, "fraction of records labelled HYP (site 0)", 0.0, 0.95, {}},
        {"prevalence_af", ParamType::Float, 0.12, "fraction of records labelled AF (site 0)", 0.0, 0.95, {}},
    };
    return specs;
}

struct Config {
    std::uint64_t seed = 0;
    std::int64_t records = 0;
    std::int64_t records_per_subject = 1;
    double sampling_rate = 100;
    double duration_s = 2.5;
    std::int64_t samples = 0;
    double snr_db = 20;
    double baseline_wander_mv = 0.04;
    std::int64_t site = 0;
    double missing_covariate_rate = 0;
    std::array<double, kClassCount> prevalence{};  // kNorm unused: NORM is derived
};

Config config_from(const Params& p) {
    Config c;
    c.seed = static_cast<std::uint64_t>(p.get_int("seed"));
    c.records = p.get_int("records");
    c.records_per_subject = p.get_int("records_per_subject");
    c.sampling_rate = p.get_float("sampling_rate");
    c.duration_s = p.get_float("duration_s");
    c.samples = static_cast<std::int64_t>(std::llround(c.sampling_rate * c.duration_s));
    c.snr_db = p.get_float("snr_db");
    c.baseline_wander_mv = p.get_float("baseline_wander_mv");
    c.site = p.get_int("site");
    c.missing_covariate_rate = p.get_float("missing_covariate_rate");
    c.prevalence[kMi] = p.get_float("prevalence_mi");
    c.prevalence[kSttc] = p.get_float("prevalence_sttc");
    c.prevalence[kCd] = p.get_float("prevalence_cd");
    c.prevalence[kHyp] = p.get_float("prevalence_hyp");
    c.prevalence[kAf] = p.get_float("prevalence_af");
    if (c.samples < 8) throw std::invalid_argument("synthetic: sampling_rate * duration_s gives fewer than 8 samples");
    const std::int64_t subjects = (c.records + c.records_per_subject - 1) / c.records_per_subject;
    if (subjects < 3) {
        throw std::invalid_argument("synthetic: records / records_per_subject must give at least 3 subjects "
                                    "(one per split), got " + std::to_string(subjects));
    }
    return c;
}

/// Hash of the generator version and every parameter, read through the typed getters so that
/// `snr_db = 20` and `snr_db = 20.0` give the same fingerprint.
std::string fingerprint_of(const Params& p) {
    return ecgbench::Fingerprint().add(std::string("synthetic/") + kGeneratorVersion + "|").add_params(schema(), p).hex();
}

// ---------------------------------------------------------------------------------------------
// Randomness

using ecgbench::splitmix64;

/// Stream identifiers so subject, record, covariate and split draws never share a sequence.
enum Stream : std::uint64_t { kSubjectStream = 1, kRecordStream = 2, kCovariateStream = 3, kSplitStream = 4,
                              kSiteStream = 5 };

std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t site, std::uint64_t stream, std::uint64_t index) {
    std::uint64_t h = splitmix64(seed);
    h = splitmix64(h ^ splitmix64(site + 0x51ull));
    h = splitmix64(h ^ splitmix64(stream + 0xA3ull));
    return splitmix64(h ^ splitmix64(index + 0xC7ull));
}

double unit_interval(std::uint64_t bits) { return static_cast<double>(bits >> 11) * 0x1.0p-53; }

class Rng {
public:
    explicit Rng(std::uint64_t seed) : engine_(seed) {}
    double uniform() { return unit_interval(engine_()); }
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
    bool chance(double p) { return uniform() < p; }
    /// Box-Muller, caching the second variate.
    double normal() {
        if (has_spare_) {
            has_spare_ = false;
            return spare_;
        }
        const double radius = std::sqrt(-2.0 * std::log(1.0 - uniform()));  // 1-u lies in (0, 1]
        const double angle = 2.0 * kPi * uniform();
        spare_ = radius * std::sin(angle);
        has_spare_ = true;
        return radius * std::cos(angle);
    }
    double normal(double mean, double sd) { return mean + sd * normal(); }
    double lognormal(double sd) { return std::exp(sd * normal()); }

private:
    std::mt19937_64 engine_;
    bool has_spare_ = false;
    double spare_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Geometry

struct Vec3 {
    float x = 0, y = 0, z = 0;
};
Vec3 operator+(Vec3 a, Vec3 b) { return {a.x + b.x, a.y + b.y, a.z + b.z}; }
Vec3 operator*(float s, Vec3 a) { return {s * a.x, s * a.y, s * a.z}; }
float dot(Vec3 a, Vec3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
Vec3 unit(Vec3 v) {
    const float norm = std::sqrt(dot(v, v));
    return norm > 0 ? (1.0f / norm) * v : v;
}
float rad(double degrees) { return static_cast<float>(degrees * kPi / 180.0); }
/// Direction at frontal-plane angle `degrees` (0 = lead I, +90 = aVF) with anterior component z.
Vec3 frontal(double degrees, float z) { return unit({std::cos(rad(degrees)), std::sin(rad(degrees)), z}); }
/// Rotation about the vertical axis; positive turns left (+x) toward anterior (+z).
Vec3 rotate_transverse(Vec3 v, double degrees) {
    const float c = std::cos(rad(degrees)), s = std::sin(rad(degrees));
    return {c * v.x - s * v.z, v.y, s * v.x + c * v.z};
}
/// Removes `fraction` of v's component along unit u when it points toward u (lost myocardium).
Vec3 remove_toward(Vec3 v, Vec3 u, float fraction) {
    const float along = dot(v, u);
    return along > 0 ? v + (-fraction * along) * u : v;
}

/// exp(-z^2/2) by table lookup with linear interpolation, zero beyond 4 sigma (relative
/// truncation 3e-4, interpolation error < 2e-6): much cheaper than std::exp per sample.
class GaussianTable {
public:
    static constexpr float kSupport = 4.0f;
    static constexpr int kSize = 1024;
    GaussianTable() {
        for (int i = 0; i <= kSize; ++i) {
            const double z = static_cast<double>(i) * kSupport / kSize;
            values_[static_cast<std::size_t>(i)] = static_cast<float>(std::exp(-0.5 * z * z));
        }
        values_[kSize + 1] = 0.0f;
    }
    float operator()(float z) const {
        const float a = std::fabs(z) * (kSize / kSupport);
        if (!(a < kSize)) return 0.0f;
        const int i = static_cast<int>(a);
        const float f = a - static_cast<float>(i);
        const float lo = values_[static_cast<std::size_t>(i)];
        return lo + f * (values_[static_cast<std::size_t>(i) + 1] - lo);
    }

private:
    std::array<float, kSize + 2> values_{};
};

const GaussianTable& gaussian() {
    static const GaussianTable table;
    return table;
}

/// A sinusoid advanced by complex rotation instead of calling sin per sample.
class Oscillator {
public:
    Oscillator(double amplitude, double frequency_hz, double phase, double sampling_rate)
        : re_(amplitude * std::cos(phase)), im_(amplitude * std::sin(phase)),
          step_re_(std::cos(2 * kPi * frequency_hz / sampling_rate)),
          step_im_(std::sin(2 * kPi * frequency_hz / sampling_rate)) {}
    /// Current value, then advances one sample.
    double next() {
        const double value = im_;
        const double re = re_ * step_re_ - im_ * step_im_;
        im_ = re_ * step_im_ + im_ * step_re_;
        re_ = re;
        return value;
    }

private:
    double re_, im_, step_re_, step_im_;
};

// ---------------------------------------------------------------------------------------------
// Site, subject and record model

/// Acquisition-site shifts. Site 0 is the reference and changes nothing.
struct SiteEffects {
    double noise_factor = 1;  // multiplies the white-noise SD
    double gain = 1;          // amplifier gain error
    double wander = 1;        // baseline wander amplitude factor
    double age_shift = 0;     // years added to the population mean age
    std::array<double, kClassCount> prevalence_factor{1, 1, 1, 1, 1, 1};
};

SiteEffects site_effects(const Config& c) {
    SiteEffects e;
    if (c.site == 0) return e;
    // Seeded from the site alone: site k means the same "hospital" whatever the dataset seed.
    Rng rng(derive_seed(0, static_cast<std::uint64_t>(c.site), kSiteStream, 0));
    e.noise_factor = std::pow(10.0, rng.uniform(-6.0, 6.0) / 20.0);
    e.gain = rng.uniform(0.8, 1.2);
    e.wander = rng.uniform(0.5, 2.0);
    e.age_shift = rng.uniform(-8.0, 8.0);
    for (int k = kMi; k < kClassCount; ++k) e.prevalence_factor[static_cast<std::size_t>(k)] = std::exp(rng.uniform(-0.5, 0.5));
    return e;
}

enum class Territory { Anterior, Inferior, Lateral };
enum class Conduction { Rbbb, Lbbb, Ivcd, Avb1 };
enum class Repolarisation { TInversion, StDepression, FlatT };

/// Episode probabilities of the paroxysmal conditions in a prone subject.
constexpr double kAfEpisode = 0.75;
constexpr double kSttcEpisode = 0.8;

struct Subject {
    double age = 60;
    bool male = false;
    // Chronic conditions (every record) and proneness to paroxysmal ones.
    bool mi = false, cd = false, hyp = false, sttc_prone = false, af_prone = false;
    Territory territory = Territory::Anterior;
    bool mi_acute = false;
    float mi_q = 0, mi_st = 0, mi_t = 0;
    Conduction conduction = Conduction::Rbbb;
    float avb_pr = 0;
    Repolarisation repolarisation = Repolarisation::TInversion;
    float sttc_severity = 0;
    bool rvh = false, strain = false;
    float hyp_factor = 1;
    // Morphology and rhythm traits.
    float axis_deg = 50, posterior = -0.2f, t_axis_deg = 45, amplitude = 1, heart_rate = 70, pr_s = 0.16f;
    float qrs_scale = 1, qt_factor = 1, t_amplitude = 0.3f, p_amplitude = 0.12f;
    float respiration_hz = 0.25f, sinus_arrhythmia = 0.03f;
};

double clamp01(double p) { return std::clamp(p, 0.0, 0.95); }

Subject make_subject(const Config& c, const SiteEffects& site, std::int64_t index) {
    Rng rng(derive_seed(c.seed, static_cast<std::uint64_t>(c.site), kSubjectStream, static_cast<std::uint64_t>(index)));
    Subject s;
    s.age = std::clamp(rng.normal(60.0 + site.age_shift, 15.0), 18.0, 95.0);
    s.male = rng.chance(0.5);

    // Risk rises ~3 %/year; divided by E[exp(0.03 (age-60))] for age ~ N(60, 15) so the configured
    // prevalence holds on average at site 0.
    const double risk = std::exp(0.03 * (s.age - 60.0)) / std::exp(0.5 * 0.45 * 0.45);
    auto probability = [&](Class k, double age_risk) {
        return clamp01(c.prevalence[static_cast<std::size_t>(k)] * site.prevalence_factor[static_cast<std::size_t>(k)] *
                       age_risk);
    };
    // Every draw below happens unconditionally, in a fixed order, so changing one prevalence does
    // not reshuffle the other traits of the same subject.
    const double u_mi = rng.uniform(), u_cd = rng.uniform(), u_hyp = rng.uniform(), u_sttc = rng.uniform(),
                 u_af = rng.uniform();
    s.mi = u_mi < probability(kMi, risk);
    s.cd = u_cd < probability(kCd, risk);
    s.hyp = u_hyp < probability(kHyp, risk);
    s.sttc_prone = u_sttc < std::min(1.0, probability(kSttc, 1.0) / kSttcEpisode);
    s.af_prone = u_af < std::min(1.0, probability(kAf, risk) / kAfEpisode);

    const double u_territory = rng.uniform();
    s.territory = u_territory < 0.45 ? Territory::Anterior : u_territory < 0.85 ? Territory::Inferior : Territory::Lateral;
    s.mi_acute = rng.chance(0.5);
    s.mi_q = static_cast<float>(rng.uniform(0.25, 0.5));
    s.mi_st = static_cast<float>(rng.uniform(0.1, 0.3));
    s.mi_t = static_cast<float>(rng.uniform(0.1, 0.25));
    const double u_cd_type = rng.uniform();
    s.conduction = u_cd_type < 0.35   ? Conduction::Rbbb
                   : u_cd_type < 0.60 ? Conduction::Lbbb
                   : u_cd_type < 0.80 ? Conduction::Ivcd
                                      : Conduction::Avb1;
    s.avb_pr = static_cast<float>(rng.uniform(0.24, 0.34));
    const double u_sttc_type = rng.uniform();
    s.repolarisation = u_sttc_type < 0.4    ? Repolarisation::TInversion
                       : u_sttc_type < 0.75 ? Repolarisation::StDepression
                                            : Repolarisation::FlatT;
    s.sttc_severity = static_cast<float>(rng.uniform(0.4, 1.0));
    s.rvh = rng.chance(0.2);
    s.strain = rng.chance(0.4);
    s.hyp_factor = static_cast<float>(rng.uniform(1.7, 2.4));

    // Axis drifts left with age; women have lower voltage and slightly faster rates.
    s.axis_deg = static_cast<float>(std::clamp(rng.normal(55.0, 22.0) - 0.3 * std::max(0.0, s.age - 40.0), -40.0, 110.0));
    s.posterior = static_cast<float>(rng.normal(-0.2, 0.15));
    s.t_axis_deg = static_cast<float>(0.5 * s.axis_deg + 20.0 + rng.normal(0.0, 8.0));
    s.amplitude = static_cast<float>(std::clamp(rng.lognormal(0.18) * (s.male ? 1.08 : 0.92) * (1.0 - 0.004 * (s.age - 55.0)),
                                                0.4, 2.5));
    s.heart_rate = static_cast<float>(std::clamp(rng.normal(s.male ? 68.0 : 72.0, 10.0), 45.0, 110.0));
    s.pr_s = static_cast<float>(std::clamp(rng.normal(0.155, 0.018), 0.11, 0.21));
    s.qrs_scale = static_cast<float>(rng.lognormal(0.08));
    s.qt_factor = static_cast<float>(rng.lognormal(0.05));
    s.t_amplitude = static_cast<float>(std::clamp(rng.normal(0.42, 0.1), 0.15, 0.75));
    s.p_amplitude = static_cast<float>(std::clamp(rng.normal(0.12, 0.03), 0.05, 0.22));
    s.respiration_hz = static_cast<float>(rng.uniform(0.2, 0.33));
    s.sinus_arrhythmia = static_cast<float>(rng.uniform(0.01, 0.05) * (s.age < 50 ? 1.5 : 1.0));
    return s;
}

/// One Gaussian component of a beat. Offsets/widths of repolarisation waves are given for RR = 1 s.
enum class Phase { Atrial, Ventricular, Repolarisation };
struct Wave {
    Phase phase;
    float offset_s;  // centre relative to the R peak
    float sigma_s;
    Vec3 amplitude;  // mV along the dipole direction
};

/// The record's beat template after subject traits, visit jitter and pathology.
struct Morphology {
    std::vector<Wave> waves;
    bool atrial_activity = true;  // false in AF: no P waves
};

struct RecordState {
    bool af = false, sttc = false;
};

Morphology build_morphology(const Subject& s, const RecordState& state, Rng& rng, double amplitude_mv) {
    const auto amp = static_cast<float>(amplitude_mv);
    double axis = s.axis_deg + rng.normal(0.0, 4.0);
    if (s.hyp && s.rvh) axis += 70.0;  // right axis deviation
    const Vec3 r_dir = frontal(axis, s.posterior + static_cast<float>(rng.normal(0.0, 0.05)));
    const Vec3 t_dir = frontal(s.t_axis_deg + rng.normal(0.0, 4.0), 0.5f);
    const Vec3 septal_dir = unit({-0.7f, 0.15f, 0.7f});
    const Vec3 s_dir = unit({-0.35f, -0.5f, -0.75f});

    // QRS: septal q, early anterior R, main posterior R, terminal S.
    Wave q{Phase::Ventricular, -0.024f, 0.008f, (0.18f * amp) * septal_dir};
    Wave r1{Phase::Ventricular, -0.009f, 0.010f, (0.55f * amp) * unit(rotate_transverse(r_dir, 50.0))};
    Wave r2{Phase::Ventricular, 0.005f, 0.011f, (1.0f * amp) * unit(rotate_transverse(r_dir, -10.0))};
    Wave sw{Phase::Ventricular, 0.026f, 0.010f, (0.35f * amp) * s_dir};
    // T: slow upstroke, faster downstroke; scales with sqrt(voltage) rather than voltage.
    const float t_amp = s.t_amplitude * std::sqrt(amp);
    Wave t1{Phase::Repolarisation, 0.25f * s.qt_factor, 0.055f, (0.45f * t_amp) * t_dir};
    Wave t2{Phase::Repolarisation, 0.29f * s.qt_factor, 0.035f, (0.75f * t_amp) * t_dir};
    float pr = s.pr_s;
    std::vector<Wave> extra;

    if (s.hyp) {
        if (s.rvh) {
            extra.push_back({Phase::Ventricular, 0.015f, 0.013f, (0.8f * amp) * unit({-0.5f, 0.3f, 0.8f})});
        } else {  // LVH: tall R toward the left, deep S in V1–V2
            r2.amplitude = s.hyp_factor * r2.amplitude;
            sw.amplitude = s.hyp_factor * sw.amplitude;
            r1.amplitude = (1.0f + 0.5f * (s.hyp_factor - 1.0f)) * r1.amplitude;
        }
        if (s.strain) {
            t1.amplitude = -0.5f * t1.amplitude;
            t2.amplitude = -0.5f * t2.amplitude;
            extra.push_back({Phase::Repolarisation, 0.11f, 0.045f, -0.08f * r_dir});
        }
    }
    if (s.cd) {
        switch (s.conduction) {
            case Conduction::Rbbb: {
                const Vec3 rprime_dir = unit({-0.55f, 0.05f, 0.85f});
                for (Wave* w : {&q, &r1, &r2}) w->sigma_s *= 1.25f;
                sw.sigma_s *= 1.8f;
                sw.offset_s += 0.012f;
                extra.push_back({Phase::Ventricular, 0.058f, 0.016f, (0.55f * amp) * rprime_dir});
                extra.push_back({Phase::Repolarisation, 0.2f, 0.05f, -0.12f * rprime_dir});  // secondary T change
                break;
            }
            case Conduction::Lbbb:
                q.amplitude = 0.0f * q.amplitude;  // septum activated right-to-left: no septal q
                r1.sigma_s *= 2.0f;
                r1.offset_s -= 0.02f;
                r2.sigma_s *= 2.0f;
                r2.offset_s += 0.03f;
                r2.amplitude = 1.15f * r2.amplitude;
                sw.sigma_s *= 1.8f;
                sw.offset_s += 0.04f;
                // Secondary repolarisation change: T discordant to the main QRS vector.
                t1.amplitude = (-0.45f * 0.35f * std::sqrt(amp)) * r_dir;
                t2.amplitude = (-0.75f * 0.35f * std::sqrt(amp)) * r_dir;
                break;
            case Conduction::Ivcd:
                for (Wave* w : {&q, &r1, &r2, &sw}) {
                    w->sigma_s *= 1.6f;
                    w->offset_s *= 1.5f;
                }
                break;
            case Conduction::Avb1: pr = s.avb_pr; break;
        }
    }
    if (s.mi) {
        const Vec3 u = s.territory == Territory::Anterior   ? unit({0.1f, 0.1f, 1.0f})
                       : s.territory == Territory::Inferior ? unit({0.0f, 1.0f, 0.1f})
                                                            : unit({1.0f, -0.45f, 0.15f});
        // Necrotic tissue no longer depolarises: early forces point away from the territory.
        for (Wave* w : {&q, &r1, &r2}) w->amplitude = remove_toward(w->amplitude, u, 0.6f);
        extra.push_back({Phase::Ventricular, -0.026f, 0.015f, (-s.mi_q * amp) * u});
        if (s.mi_acute) {
            extra.push_back({Phase::Repolarisation, 0.12f, 0.05f, s.mi_st * u});
            extra.push_back({Phase::Repolarisation, 0.18f, 0.05f, (0.7f * s.mi_st) * u});
        } else {
            extra.push_back({Phase::Repolarisation, 0.27f, 0.05f, -s.mi_t * u});
        }
    }
    if (state.sttc) {
        switch (s.repolarisation) {
            case Repolarisation::TInversion:
                t1.amplitude = (-0.9f * s.sttc_severity) * t1.amplitude;
                t2.amplitude = (-0.9f * s.sttc_severity) * t2.amplitude;
                break;
            case Repolarisation::StDepression:
                extra.push_back({Phase::Repolarisation, 0.10f, 0.045f, (-0.2f * s.sttc_severity) * r_dir});
                extra.push_back({Phase::Repolarisation, 0.16f, 0.045f, (-0.1f * s.sttc_severity) * r_dir});
                t1.amplitude = 0.6f * t1.amplitude;
                t2.amplitude = 0.6f * t2.amplitude;
                break;
            case Repolarisation::FlatT:
                t1.amplitude = (0.25f * (1.0f - s.sttc_severity)) * t1.amplitude;
                t2.amplitude = (0.25f * (1.0f - s.sttc_severity)) * t2.amplitude;
                extra.push_back({Phase::Repolarisation, 0.12f, 0.05f, -0.05f * r_dir});
                break;
        }
    }

    Morphology m;
    m.atrial_activity = !state.af;
    const Vec3 p_dir = frontal(55.0 + rng.normal(0.0, 10.0), 0.1f);
    if (m.atrial_activity) m.waves.push_back({Phase::Atrial, -pr + 0.01f, 0.022f, s.p_amplitude * p_dir});
    const float width = s.qrs_scale;
    for (Wave w : {q, r1, r2, sw}) {
        w.sigma_s *= width;
        w.offset_s *= width;
        m.waves.push_back(w);
    }
    for (Wave w : extra) {
        if (w.phase == Phase::Ventricular) {
            w.sigma_s *= width;
            w.offset_s *= width;
        }
        m.waves.push_back(w);
    }
    m.waves.push_back(t1);
    m.waves.push_back(t2);
    return m;
}

/// Adds `amplitude * exp(-((t - centre)/sigma)^2 / 2)` to the dipole, blurred by the anti-alias
/// filter (Gaussians convolve into a Gaussian; the area is kept).
void render(const Wave& w, double centre_s, double sigma_s, float scale, const Config& c, float* dipole) {
    const double blur = 0.4 / c.sampling_rate;
    const double sigma = std::sqrt(sigma_s * sigma_s + blur * blur);
    const auto gain = static_cast<float>(scale * sigma_s / sigma);
    const Vec3 a = gain * w.amplitude;
    const double reach = GaussianTable::kSupport * sigma;
    const auto first = std::max<std::int64_t>(0, static_cast<std::int64_t>(std::ceil((centre_s - reach) * c.sampling_rate)));
    const auto last = std::min<std::int64_t>(c.samples - 1,
                                             static_cast<std::int64_t>(std::floor((centre_s + reach) * c.sampling_rate)));
    const auto& table = gaussian();
    const double inv_sigma = 1.0 / sigma, dt = 1.0 / c.sampling_rate;
    float* dx = dipole;
    float* dy = dipole + c.samples;
    float* dz = dipole + 2 * c.samples;
    for (std::int64_t n = first; n <= last; ++n) {
        const float g = table(static_cast<float>((static_cast<double>(n) * dt - centre_s) * inv_sigma));
        dx[n] += g * a.x;
        dy[n] += g * a.y;
        dz[n] += g * a.z;
    }
}

/// Lead axes of the recorded leads: I, II, V1..V6 (before electrode jitter).
struct LeadField {
    Vec3 direction;
    float gain;
};

/// Writes one record: signal [12, T] (standard order), labels [classes], age and sex.
void generate_record(const Config& c, const SiteEffects& site, const Subject& s, std::int64_t index, float* signal,
                     float* labels, float& age, float& sex, std::vector<float>& dipole) {
    Rng rng(derive_seed(c.seed, static_cast<std::uint64_t>(c.site), kRecordStream, static_cast<std::uint64_t>(index)));
    RecordState state;
    state.af = s.af_prone && rng.chance(kAfEpisode);
    state.sttc = s.sttc_prone && rng.chance(kSttcEpisode);

    std::fill(labels, labels + kClassCount, 0.0f);
    labels[kMi] = s.mi ? 1.0f : 0.0f;
    labels[kSttc] = state.sttc ? 1.0f : 0.0f;
    labels[kCd] = s.cd ? 1.0f : 0.0f;
    labels[kHyp] = s.hyp ? 1.0f : 0.0f;
    labels[kAf] = state.af ? 1.0f : 0.0f;
    labels[kNorm] = (s.mi || state.sttc || s.cd || s.hyp || state.af) ? 0.0f : 1.0f;

    // Visit-level variation.
    double heart_rate = s.heart_rate * rng.lognormal(0.07);
    if (state.af) heart_rate *= rng.uniform(1.1, 1.4);
    const double amplitude = 1.3 * s.amplitude * rng.lognormal(0.05);
    const Morphology morph = build_morphology(s, state, rng, amplitude);

    const std::int64_t T = c.samples;
    dipole.assign(static_cast<std::size_t>(3 * T), 0.0f);

    // Beats: start before t = 0 so the first visible samples hold the tail of a previous beat.
    const double rr_mean = 60.0 / heart_rate;
    const double respiration_phase = rng.uniform(0.0, 2 * kPi);
    auto next_rr = [&](double t) {
        if (state.af) return std::max(0.26, rr_mean * rng.uniform(0.55, 1.45));
        return rr_mean * (1.0 + s.sinus_arrhythmia * std::sin(2 * kPi * s.respiration_hz * t + respiration_phase)) *
               rng.lognormal(0.012);
    };
    double rr_prev = rr_mean;
    double t_r = -0.7 + rng.uniform() * rr_mean;
    while (t_r < c.duration_s + 0.5) {
        const double breathing = 1.0 + 0.05 * std::sin(2 * kPi * s.respiration_hz * t_r + respiration_phase);
        const auto ventricular = static_cast<float>(breathing * (1.0 + rng.normal(0.0, 0.015)));
        const auto other = static_cast<float>(1.0 + rng.normal(0.0, 0.02));
        const double qt_scale = std::sqrt(rr_prev);
        for (const Wave& w : morph.waves) {
            double centre = t_r + w.offset_s, sigma = w.sigma_s;
            float scale = other;
            if (w.phase == Phase::Repolarisation) {
                centre = t_r + w.offset_s * qt_scale;
                sigma = w.sigma_s * qt_scale;
            } else if (w.phase == Phase::Ventricular) {
                scale = ventricular;
            }
            render(w, centre, sigma, scale, c, dipole.data());
        }
        const double rr = next_rr(t_r);
        rr_prev = rr;
        t_r += rr;
    }
    if (!morph.atrial_activity) {  // fibrillatory waves: two close frequencies beat into a varying envelope
        const double f1 = rng.uniform(4.5, 7.5), f2 = f1 + rng.uniform(0.4, 1.2), a = rng.uniform(0.04, 0.1);
        const Vec3 f_dir = unit({-0.25f, 0.55f, 0.8f});
        Oscillator w1(0.6 * a, f1, rng.uniform(0.0, 2 * kPi), c.sampling_rate);
        Oscillator w2(0.4 * a, f2, rng.uniform(0.0, 2 * kPi), c.sampling_rate);
        for (std::int64_t n = 0; n < T; ++n) {
            const auto v = static_cast<float>(w1.next() + w2.next());
            dipole[static_cast<std::size_t>(n)] += v * f_dir.x;
            dipole[static_cast<std::size_t>(T + n)] += v * f_dir.y;
            dipole[static_cast<std::size_t>(2 * T + n)] += v * f_dir.z;
        }
    }

    // Recorded leads with electrode placement jitter (common shift of the chest row plus each
    // electrode's own error); chest leads see more voltage (closer to the heart).
    static constexpr std::array<double, 6> kChestAngles{115, 95, 78, 60, 35, 8};
    static constexpr std::array<float, 6> kChestGains{0.9f, 1.35f, 1.45f, 1.35f, 1.1f, 0.85f};
    std::array<LeadField, 8> fields{};
    fields[0] = {{1.0f, 0.0f, 0.0f}, 1.0f};
    fields[1] = {{0.5f, 0.8660254f, 0.0f}, 1.0f};
    const double row_shift = rng.normal(0.0, 5.0);
    for (std::size_t k = 0; k < 6; ++k) {
        const double angle = kChestAngles[k] + row_shift + rng.normal(0.0, 3.0);
        const auto y = static_cast<float>((k >= 3 ? 0.1 : 0.0) + rng.normal(0.0, 0.06));
        fields[2 + k] = {unit({std::cos(rad(angle)), y, std::sin(rad(angle))}), kChestGains[k]};
    }
    static constexpr std::array<int, 8> kRecordedColumns{0, 1, 6, 7, 8, 9, 10, 11};

    const float* dx = dipole.data();
    const float* dy = dx + T;
    const float* dz = dy + T;
    const auto gain = static_cast<float>(site.gain);
    double power = 0;
    for (std::size_t k = 0; k < fields.size(); ++k) {
        float* out = signal + kRecordedColumns[k] * T;
        const Vec3 d = (fields[k].gain * gain) * fields[k].direction;
        for (std::int64_t n = 0; n < T; ++n) {
            out[n] = d.x * dx[n] + d.y * dy[n] + d.z * dz[n];
            power += static_cast<double>(out[n]) * out[n];
        }
    }
    const double rms = std::sqrt(power / static_cast<double>(fields.size() * static_cast<std::size_t>(T)));
    const double noise_sd = rms * std::pow(10.0, -c.snr_db / 20.0) * site.noise_factor;
    for (std::size_t k = 0; k < fields.size(); ++k) {
        float* out = signal + kRecordedColumns[k] * T;
        const double wander = c.baseline_wander_mv * site.wander;
        Oscillator slow(rng.uniform(0.0, 1.0) * wander, rng.uniform(0.05, 0.25), rng.uniform(0.0, 2 * kPi),
                        c.sampling_rate);
        Oscillator faster(rng.uniform(0.0, 0.4) * wander, rng.uniform(0.25, 0.6), rng.uniform(0.0, 2 * kPi),
                          c.sampling_rate);
        const double offset = rng.normal(0.0, 0.25) * wander;
        for (std::int64_t n = 0; n < T; ++n) {
            out[n] += static_cast<float>(offset + slow.next() + faster.next() + noise_sd * rng.normal());
        }
    }

    // Derived limb leads, exactly as a cart computes them from I and II.
    const float* lead_i = signal;
    const float* lead_ii = signal + T;
    float* lead_iii = signal + 2 * T;
    float* avr = signal + 3 * T;
    float* avl = signal + 4 * T;
    float* avf = signal + 5 * T;
    for (std::int64_t n = 0; n < T; ++n) {
        lead_iii[n] = lead_ii[n] - lead_i[n];
        avr[n] = -(lead_i[n] + lead_ii[n]) / 2.0f;
        avl[n] = lead_i[n] - lead_ii[n] / 2.0f;
        avf[n] = lead_ii[n] - lead_i[n] / 2.0f;
    }

    // Covariates from their own stream so the missing rate never changes the signals.
    Rng covariates(derive_seed(c.seed, static_cast<std::uint64_t>(c.site), kCovariateStream, static_cast<std::uint64_t>(index)));
    const double visit_age = s.age + covariates.uniform(0.0, 2.0);
    const bool age_missing = covariates.chance(c.missing_covariate_rate);
    const bool sex_missing = covariates.chance(c.missing_covariate_rate);
    age = age_missing ? std::nanf("") : static_cast<float>(std::floor(visit_age));
    sex = sex_missing ? std::nanf("") : (s.male ? 1.0f : 0.0f);
}

// ---------------------------------------------------------------------------------------------
// The plugin

class Synthetic final : public ecgbench::Dataset {
public:
    explicit Synthetic(const Params& params) : config_(config_from(params)), fingerprint_(fingerprint_of(params)) {}

    DatasetInfo info() const override {
        DatasetInfo info;
        info.name = "synthetic";
        info.version = kGeneratorVersion;
        info.fingerprint = fingerprint_;
        info.sampling_rate_hz = config_.sampling_rate;
        info.samples = config_.samples;
        info.leads = lead_names();
        info.classes = class_names();
        info.preprocessing =
            "none; raw mV (generated with an anti-alias blur matched to the sampling rate, baseline wander kept). "
            "Covariates: age (years), sex (1 = male, 0 = female); NaN = missing";
        info.split_rule =
            "patient-disjoint: subjects (records_per_subject consecutive records each) ranked by a hash of "
            "(seed, site, subject); first 70% train, next 15% val, rest test (at least one subject each)";
        return info;
    }

    EcgSplit load(Split split, const std::vector<std::string>& leads) override {
        // Name lookup first: an unknown lead fails fast, before any generation.
        const std::vector<int> columns = ecgbench::lead_columns(lead_names(), leads);
        ensure_generated();
        const at::Tensor& rows = split_rows_[static_cast<std::size_t>(split)];
        std::vector<std::int64_t> column_index(columns.begin(), columns.end());
        const at::Tensor cols = at::tensor(column_index, at::kLong);

        EcgSplit out;
        out.signals = signals_.index_select(0, rows).index_select(1, cols).contiguous();
        out.lead_present = at::ones({rows.size(0), static_cast<std::int64_t>(columns.size())}, at::kBool);
        out.labels = labels_.index_select(0, rows);
        out.subjects = subjects_.index_select(0, rows);
        out.covariates["age"] = age_.index_select(0, rows);
        out.covariates["sex"] = sex_.index_select(0, rows);
        const auto* row = rows.data_ptr<std::int64_t>();
        out.record_ids.reserve(static_cast<std::size_t>(rows.size(0)));
        for (std::int64_t i = 0; i < rows.size(0); ++i) {
            out.record_ids.push_back("synth-" + std::to_string(config_.seed) + "-" + std::to_string(row[i]));
        }
        return out;
    }

private:
    void ensure_generated() {
        std::call_once(generated_, [this] { generate(); });
    }

    void generate() {
        const Config& c = config_;
        const SiteEffects site = site_effects(c);
        const std::int64_t n = c.records, T = c.samples;
        const std::int64_t subject_count = (n + c.records_per_subject - 1) / c.records_per_subject;
        std::vector<Subject> subjects;
        subjects.reserve(static_cast<std::size_t>(subject_count));
        for (std::int64_t s = 0; s < subject_count; ++s) subjects.push_back(make_subject(c, site, s));

        signals_ = at::empty({n, kLeadCount, T}, at::kFloat);
        labels_ = at::empty({n, kClassCount}, at::kFloat);
        subjects_ = at::empty({n}, at::kLong);
        age_ = at::empty({n}, at::kFloat);
        sex_ = at::empty({n}, at::kFloat);
        float* signal = signals_.data_ptr<float>();
        float* labels = labels_.data_ptr<float>();
        std::int64_t* subject_ids = subjects_.data_ptr<std::int64_t>();
        float* age = age_.data_ptr<float>();
        float* sex = sex_.data_ptr<float>();
        // Records are independent (own RNG, own output slice), so the result is thread-count invariant.
        at::parallel_for(0, n, 64, [&](std::int64_t begin, std::int64_t end) {
            std::vector<float> dipole;
            for (std::int64_t i = begin; i < end; ++i) {
                const std::int64_t s = i / c.records_per_subject;
                subject_ids[i] = s;
                generate_record(c, site, subjects[static_cast<std::size_t>(s)], i, signal + i * kLeadCount * T,
                                labels + i * kClassCount, age[i], sex[i], dipole);
            }
        });

        // Patient-disjoint split: rank subjects by a hash, cut 70/15/15.
        std::vector<std::pair<std::uint64_t, std::int64_t>> ranked;
        ranked.reserve(static_cast<std::size_t>(subject_count));
        for (std::int64_t s = 0; s < subject_count; ++s) {
            ranked.emplace_back(derive_seed(c.seed, static_cast<std::uint64_t>(c.site), kSplitStream, static_cast<std::uint64_t>(s)), s);
        }
        std::sort(ranked.begin(), ranked.end());
        const std::int64_t val_subjects = std::max<std::int64_t>(1, std::llround(0.15 * static_cast<double>(subject_count)));
        const std::int64_t test_subjects = std::max<std::int64_t>(1, std::llround(0.15 * static_cast<double>(subject_count)));
        const std::int64_t train_subjects = subject_count - val_subjects - test_subjects;  // >= 1 since >= 3 subjects
        std::vector<int> split_of_subject(static_cast<std::size_t>(subject_count));
        for (std::int64_t k = 0; k < subject_count; ++k) {
            split_of_subject[static_cast<std::size_t>(ranked[static_cast<std::size_t>(k)].second)] =
                k < train_subjects ? 0 : k < train_subjects + val_subjects ? 1 : 2;
        }
        std::array<std::vector<std::int64_t>, 3> rows;
        for (std::int64_t i = 0; i < n; ++i) {
            rows[static_cast<std::size_t>(split_of_subject[static_cast<std::size_t>(i / c.records_per_subject)])].push_back(i);
        }
        for (std::size_t k = 0; k < 3; ++k) split_rows_[k] = at::tensor(rows[k], at::kLong);
    }

    Config config_;
    std::string fingerprint_;
    std::once_flag generated_;
    at::Tensor signals_, labels_, subjects_, age_, sex_;
    std::array<at::Tensor, 3> split_rows_;  // indexed by Split
};

ecgbench::PluginDescriptor describe() {
    ecgbench::PluginDescriptor d;
    d.manifest = {"synthetic", ecgbench::PluginKind::Dataset, "1.0.0",
                  "seeded 12-lead ECG-like generator (dipole model; NORM/MI/STTC/CD/HYP/AF; subjects, sites, covariates)",
                  schema()};
    d.make_dataset = [](const Params& p) { return std::make_unique<Synthetic>(p); };
    return d;
}

}  // namespace

ECGBENCH_PLUGIN(describe)
