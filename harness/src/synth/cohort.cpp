// The cohort stage: subjects (covariates, chronic disease, physiology), visits (rhythm and
// intermittent findings), recorded covariates with missingness, splits, and record assembly.
//
// Covariate model: age, sex, BMI, systolic BP (± treatment), total and HDL cholesterol, smoking and
// diabetes drawn with their usual correlations (BP with age and BMI, diabetes with age and BMI...).
// The risk score is the Framingham general cardiovascular 10-year risk (D'Agostino et al.,
// Circulation 2008, the sex-specific Cox model with baseline survival S0 and mean linear predictor).
// Physiology follows the covariates: heart rate (higher in women, with BMI), QRS voltage (higher in
// men, lower with age and BMI), QRS duration (longer in men, with age), PR (with age), QTc (longer
// in women), frontal axis (leftward with age and BMI), HRV (lower with age).
// With `confounding`, disease probabilities scale with the covariates (MI and ST-T with the risk
// score, LVH with blood pressure, AF, flutter, conduction disease and ectopy with age), normalised
// over the cohort's own population so the prevalence parameters keep their meaning.
#include "synth/model.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace ecgbench::synth {

double framingham_risk(double age, bool male, double total_cholesterol, double hdl, double sbp, bool bp_treated,
                       bool smoker, bool diabetic) {
    struct Model {
        double age, tc, hdl, sbp_untreated, sbp_treated, smoker, diabetic, s0, mean;
    };
    static constexpr Model kWomen{2.32888, 1.20904, -0.70833, 2.76157, 2.82263, 0.52873, 0.69154, 0.95012, 26.1931};
    static constexpr Model kMen{3.06117, 1.12370, -0.93263, 1.93303, 1.99881, 0.65451, 0.57367, 0.88936, 23.9802};
    const Model& m = male ? kMen : kWomen;
    const double x = m.age * std::log(age) + m.tc * std::log(total_cholesterol) + m.hdl * std::log(hdl) +
                     (bp_treated ? m.sbp_treated : m.sbp_untreated) * std::log(sbp) + (smoker ? m.smoker : 0.0) +
                     (diabetic ? m.diabetic : 0.0);
    return 100.0 * (1.0 - std::pow(m.s0, std::exp(x - m.mean)));
}

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

double logistic(double x) { return 1.0 / (1.0 + std::exp(-x)); }

/// Covariates of a subject (the first draws of the subject stream).
void draw_covariates(const SiteConfig& site, Rng& rng, Subject& s) {
    s.age = std::clamp(rng.normal(site.age_mean, site.age_sd), 18.0, 95.0);
    s.male = rng.chance(site.male_fraction);
    s.bmi = std::clamp(26.5 + 0.03 * (s.age - 50) + rng.normal(0.0, 4.5), 16.0, 50.0);
    s.sbp = std::clamp(118 + 0.45 * (s.age - 50) + 0.9 * (s.bmi - 26) + (s.male ? 4.0 : 0.0) + rng.normal(0.0, 14.0), 90.0, 220.0);
    s.bp_treated = rng.chance(logistic((s.sbp - 145) / 8));
    s.total_cholesterol = std::clamp(rng.normal(200 + 0.4 * (s.age - 50) * (s.male ? 0.5 : 1.0), 38.0), 110.0, 360.0);
    s.hdl = std::clamp(rng.normal(s.male ? 47.0 : 58.0, 12.0) - 0.4 * (s.bmi - 26), 20.0, 110.0);
    s.smoker = rng.chance(std::clamp(0.28 - 0.003 * (s.age - 40), 0.05, 0.4));
    s.diabetic = rng.chance(logistic(-3.2 + 0.045 * (s.age - 50) + 0.12 * (s.bmi - 27)));
    s.risk = framingham_risk(s.age, s.male, s.total_cholesterol, s.hdl, s.sbp, s.bp_treated, s.smoker, s.diabetic);
}

/// Findings whose probability depends on the covariates when confounded.
enum Risk : std::size_t { kMi, kSttc, kCd, kHyp, kLongQt, kAf, kFlutter, kPvc, kPac, kRiskCount };
using RiskArray = std::array<double, kRiskCount>;

/// How much more likely each finding is for these covariates (relative, confounding on).
RiskArray multipliers(const Subject& s) {
    const double risk = std::clamp(s.risk, 0.5, 80.0) / 10.0;
    const double ectopy = std::exp(0.03 * (s.age - 60));
    return {risk, std::pow(risk, 0.6), std::exp(0.035 * (s.age - 60)), std::exp(0.04 * (s.sbp - 130)),
            s.male ? 0.8 : 1.2, std::exp(0.06 * (s.age - 60)), std::exp(0.05 * (s.age - 60)), ectopy, ectopy};
}

/// Probability that a prone subject shows an intermittent finding at a visit (1 = chronic).
constexpr RiskArray kEpisode{1, 0.8, 1, 1, 1, 0.7, 0.7, 0.6, 0.6};

Vec3 random_direction(Rng& rng) {
    for (;;) {
        const Vec3 v{rng.normal(), rng.normal(), rng.normal()};
        if (dot(v, v) > 1e-6) return unit(v);
    }
}

}  // namespace

struct Cohort::Impl {
    CohortConfig config;
    SiteSignature signature;
    NoiseBanks banks;
    std::int64_t subjects = 0, warm = 0;
    RiskArray prevalence{};  // per finding, from the config
    RiskArray scale{};       // calibrates prevalence * multiplier to the population (see constructor)
    std::vector<std::uint8_t> split_of_subject;

    explicit Impl(CohortConfig c) : config(std::move(c)) {
        signature = site_signature(config.site);
        warm = static_cast<std::int64_t>(std::llround(0.5 * config.site.sampling_rate));
        banks = make_noise_banks(config.site, config.seed, config.samples() + warm);
        subjects = (config.records + config.records_per_subject - 1) / config.records_per_subject;

        // Calibration: P(finding | covariates) = min(episode, prevalence * scale * multiplier), with
        // `scale` chosen by bisection so the population average is the configured prevalence
        // (Monte Carlo over this cohort's own population, fixed stream).
        const Prevalence& p = config.prevalence;
        prevalence = {p.mi, p.sttc, p.cd, p.hyp, p.long_qt, p.af, p.flutter, p.pvc, p.pac};
        scale.fill(1.0);
        if (config.confounding) {
            constexpr int kDraws = 4000;
            Rng rng(derive_seed(config.seed, static_cast<std::uint64_t>(config.site.site), Stream::Site, 1));
            std::vector<RiskArray> population(kDraws);
            for (auto& m : population) {
                Subject s;
                draw_covariates(config.site, rng, s);
                m = multipliers(s);
            }
            for (std::size_t k = 0; k < kRiskCount; ++k) {
                double lo = 0, hi = 1e6;
                for (int iteration = 0; iteration < 60; ++iteration) {
                    const double mid = 0.5 * (lo + hi);
                    double mean = 0;
                    for (const auto& m : population) mean += std::min(kEpisode[k], prevalence[k] * mid * m[k]);
                    (mean / kDraws < prevalence[k] ? lo : hi) = mid;
                }
                scale[k] = 0.5 * (lo + hi);
            }
        }

        // Patient-disjoint split: subjects ranked by a hash, 70 / 15 / 15 (at least one each).
        std::vector<std::pair<std::uint64_t, std::int64_t>> ranked(static_cast<std::size_t>(subjects));
        for (std::int64_t k = 0; k < subjects; ++k)
            ranked[static_cast<std::size_t>(k)] = {derive_seed(config.seed, static_cast<std::uint64_t>(config.site.site), Stream::Split,
                                                               static_cast<std::uint64_t>(k)), k};
        std::sort(ranked.begin(), ranked.end());
        const std::int64_t held = std::max<std::int64_t>(1, std::llround(0.15 * static_cast<double>(subjects)));
        const std::int64_t train = subjects - 2 * held;
        split_of_subject.resize(static_cast<std::size_t>(subjects));
        for (std::int64_t k = 0; k < subjects; ++k)
            split_of_subject[static_cast<std::size_t>(ranked[static_cast<std::size_t>(k)].second)] =
                static_cast<std::uint8_t>(k < train ? 0 : k < train + held ? 1 : 2);
    }

    /// Probability that the subject is prone to (or, chronic, has) finding k.
    double proneness(const RiskArray& m, std::size_t k) const {
        const double visit = config.confounding ? std::min(kEpisode[k], prevalence[k] * scale[k] * m[k])
                                                : std::min(kEpisode[k], prevalence[k]);
        return visit / kEpisode[k];
    }

    Subject make_subject(std::int64_t index) const {
        Rng rng(derive_seed(config.seed, static_cast<std::uint64_t>(config.site.site), Stream::Subject,
                            static_cast<std::uint64_t>(index)));
        Subject s;
        draw_covariates(config.site, rng, s);
        const RiskArray m = multipliers(s);
        // Fixed draw order: changing one prevalence never reshuffles the subject's other traits.
        const double u_mi = rng.uniform(), u_cd = rng.uniform(), u_hyp = rng.uniform(), u_lqt = rng.uniform();
        const double u_af = rng.uniform(), u_fl = rng.uniform(), u_sttc = rng.uniform(), u_pvc = rng.uniform(),
                     u_pac = rng.uniform();
        if (u_mi < proneness(m, kMi)) {
            s.mi = static_cast<Territory>(1 + rng.pick(std::array<double, 3>{0.4, 0.4, 0.2}));
        } else {
            rng.uniform();
        }
        s.mi_acute = rng.chance(0.35);
        if (u_cd < proneness(m, kCd)) {
            s.conduction = static_cast<Conduction>(1 + rng.pick(std::array<double, 3>{0.35, 0.25, 0.4}));
        } else {
            rng.uniform();
        }
        s.lvh = u_hyp < proneness(m, kHyp);
        s.lvh_strain = rng.chance(0.4);
        s.long_qt = u_lqt < proneness(m, kLongQt);
        s.af_prone = u_af < proneness(m, kAf);
        s.flutter_prone = u_fl < proneness(m, kFlutter);
        s.sttc_prone = u_sttc < proneness(m, kSttc);
        s.pvc_prone = u_pvc < proneness(m, kPvc);
        s.pac_prone = u_pac < proneness(m, kPac);
        s.sttc_type = static_cast<Repolarisation>(1 + rng.pick(std::array<double, 3>{0.4, 0.35, 0.25}));

        // Physiology.
        const double age = s.age - 50, bmi = s.bmi - 26;
        s.axis_deg = std::clamp(rng.normal(40.0, 20.0) - 0.25 * age - 0.8 * bmi - (s.lvh ? 15.0 : 0.0) -
                                    (s.conduction == Conduction::Lbbb ? 10.0 : 0.0),
                                -40.0, 110.0);
        s.transverse_deg = rng.normal(0.0, 12.0);
        s.sagittal_deg = rng.normal(0.0, 8.0);
        s.qrs_amplitude = std::clamp(1.1 * rng.lognormal(0.2) * (s.male ? 1.1 : 0.9) * (1 - 0.005 * age) * (1 - 0.015 * bmi), 0.4, 3.0);
        s.qrs_ms = std::clamp(rng.normal(s.male ? 92.0 : 86.0, 7.0) + 0.1 * age, 70.0, 110.0);
        const double wide = rng.uniform();
        if (s.conduction == Conduction::Lbbb) s.qrs_ms = 130 + 40 * wide;
        if (s.conduction == Conduction::Rbbb) s.qrs_ms = 125 + 35 * wide;
        if (s.lvh && s.conduction != Conduction::Lbbb && s.conduction != Conduction::Rbbb) s.qrs_ms = std::min(115.0, s.qrs_ms + 8);
        s.pr_ms = std::clamp(rng.normal(150 + 0.4 * age, 16.0), 112.0, 198.0);
        s.avb_pr_ms = rng.uniform(220.0, 320.0);
        s.qtc_ms = std::clamp(rng.normal(s.male ? 405.0 : 418.0, 14.0) + 0.2 * age, 370.0, 455.0);
        s.lqt_qtc_ms = rng.uniform(475.0, 540.0);
        s.hr_bpm = rng.normal(70 + (s.male ? 0.0 : 3.0) - 0.08 * age + 0.3 * bmi, 8.0);
        s.p_amplitude = std::clamp(rng.normal(0.12, 0.03), 0.05, 0.25);
        s.t_amplitude = std::clamp(rng.normal(0.4, 0.09) * (s.male ? 1.1 : 0.9), 0.12, 0.8);
        s.t_axis_offset_deg = rng.normal(-10.0, 10.0);
        s.resp_hz = rng.uniform(0.2, 0.33);
        s.rr_sd = 0.045 * std::exp(-0.015 * (s.age - 40)) * rng.lognormal(0.3);
        s.lf_hf = 1.5 * rng.lognormal(0.4);
        s.mi_q = rng.uniform(0.25, 0.5);
        s.mi_st = rng.uniform(0.1, 0.3);
        s.mi_t = rng.uniform(0.1, 0.25);
        s.lvh_factor = rng.uniform(1.6, 2.3);
        s.sttc_severity = rng.uniform(0.3, 1.0);
        s.ectopic_focus = random_direction(rng);
        s.ectopic_p = unit({rng.normal(0.2, 0.3), rng.normal(-0.7, 0.2), rng.normal(0.3, 0.3)});
        s.chest_shift_deg = rng.normal(0.0, 5.0);
        return s;
    }

    Visit make_visit(const Subject& s, Rng& rng) const {
        const Prevalence& p = config.prevalence;
        const double duration = config.site.duration_s;
        Visit v;
        v.amplitude = rng.lognormal(0.06);
        v.resp_phase = rng.uniform(0.0, 2 * kPi);
        const double u_af = rng.uniform(), u_fl = rng.uniform(), u_kind = rng.uniform(), u_sttc = rng.uniform();
        const double u_pvc = rng.uniform(), u_pac = rng.uniform();
        const bool af = s.af_prone && u_af < kEpisode[kAf];
        const bool flutter = !af && s.flutter_prone && u_fl < kEpisode[kFlutter];

        // Sinus rate class (also the rate around a paroxysmal AF episode).
        if (u_kind < p.brady) {
            v.hr_bpm = rng.uniform(42.0, 58.0);
        } else if (u_kind < p.brady + p.tachy) {
            v.hr_bpm = rng.uniform(102.0, 140.0);
        } else {
            v.hr_bpm = std::clamp(s.hr_bpm * rng.lognormal(0.05), 61.0, 99.0);
        }
        v.af_hr_bpm = rng.uniform(70.0, 140.0);
        v.flutter_hz = rng.uniform(4.2, 5.5);
        v.flutter_conduction = std::array<double, 3>{2, 4, 3}[static_cast<std::size_t>(rng.pick(std::array<double, 3>{0.6, 0.3, 0.1}))];
        const bool paroxysmal = rng.chance(config.paroxysmal_rate);
        const double change = rng.uniform(0.3, 0.7) * duration;
        const bool onset = rng.chance(0.5);
        if (af) {
            const double inf = std::numeric_limits<double>::infinity();
            v.af_start = paroxysmal && onset ? change : -inf;
            v.af_end = paroxysmal && !onset ? change : inf;
        }
        Findings& f = v.findings;
        if (flutter) {
            f.rhythm = Rhythm::Flutter;
            v.hr_bpm = 60.0 * v.flutter_hz / v.flutter_conduction;
        }
        // Both rates drawn always, so the draw sequence does not depend on proneness.
        const double pvc_rate = rng.uniform(0.12, 0.25), pac_rate = rng.uniform(0.12, 0.25);
        v.pvc_rate = s.pvc_prone && u_pvc < kEpisode[kPvc] ? pvc_rate : 0.0;
        v.pac_rate = s.pac_prone && u_pac < kEpisode[kPac] ? pac_rate : 0.0;
        f.avb1 = s.conduction == Conduction::Avb1;
        f.lbbb = s.conduction == Conduction::Lbbb;
        f.rbbb = s.conduction == Conduction::Rbbb;
        f.lvh = s.lvh;
        f.lvh_strain = s.lvh && s.lvh_strain;
        f.mi = s.mi;
        f.mi_acute = s.mi != Territory::None && s.mi_acute;
        f.long_qt = s.long_qt;
        f.sttc = s.sttc_prone && u_sttc < kEpisode[kSttc] ? s.sttc_type : Repolarisation::None;
        return v;
    }

    Covariates record_covariates(const Subject& s, std::int64_t index) const {
        Rng rng(derive_seed(config.seed, static_cast<std::uint64_t>(config.site.site), Stream::Covariates,
                            static_cast<std::uint64_t>(index)));
        const auto visit = static_cast<double>(index % config.records_per_subject);
        Covariates c;
        c.age = std::floor(s.age + 0.7 * visit + rng.uniform(0.0, 0.5));
        c.sex = s.male ? 1.0 : 0.0;
        c.bmi = std::round(10 * (s.bmi + rng.normal(0.0, 0.3))) / 10;
        c.sbp = std::round(s.sbp + rng.normal(0.0, 5.0));
        c.total_cholesterol = std::round(s.total_cholesterol);
        c.hdl = std::round(s.hdl);
        c.smoking = s.smoker ? 1.0 : 0.0;
        c.diabetes = s.diabetic ? 1.0 : 0.0;
        c.bp_treated = s.bp_treated ? 1.0 : 0.0;
        c.risk_score = std::round(10 * s.risk) / 10;
        for (double* field : {&c.age, &c.sex, &c.bmi, &c.sbp, &c.total_cholesterol, &c.hdl, &c.smoking, &c.diabetes,
                              &c.bp_treated, &c.risk_score})
            if (rng.chance(config.covariate_missing_rate)) *field = kNaN;
        return c;
    }
};

Cohort::Cohort(CohortConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}
Cohort::~Cohort() = default;
Cohort::Cohort(Cohort&&) noexcept = default;
Cohort& Cohort::operator=(Cohort&&) noexcept = default;

const CohortConfig& Cohort::config() const { return impl_->config; }
std::int64_t Cohort::samples() const { return impl_->config.samples(); }
std::int64_t Cohort::subjects() const { return impl_->subjects; }
int Cohort::split_of_subject(std::int64_t subject) const {
    return impl_->split_of_subject.at(static_cast<std::size_t>(subject));
}

Record Cohort::generate(std::int64_t index, float* signal, const GenerateOptions& options) const {
    const Impl& im = *impl_;
    const CohortConfig& c = im.config;
    if (index < 0 || index >= c.records) throw std::out_of_range("synthetic: record index " + std::to_string(index) + " out of range");
    const auto site = static_cast<std::uint64_t>(c.site.site);
    Record r;
    r.index = index;
    r.subject = index / c.records_per_subject;
    r.split = split_of_subject(r.subject);
    r.id = "synth" + std::to_string(c.seed) + "_" + std::to_string(c.site.site) + "_" + std::to_string(index);

    const Subject s = im.make_subject(r.subject);
    Rng visit_rng(derive_seed(c.seed, site, Stream::Visit, static_cast<std::uint64_t>(index)));
    Visit v = im.make_visit(s, visit_rng);

    VcgBuffer vcg;
    vcg.fs = c.site.sampling_rate;
    vcg.frames = c.samples() + im.warm;
    vcg.t0 = -static_cast<double>(im.warm) / vcg.fs;
    for (auto* axis : {&vcg.x, &vcg.y, &vcg.z}) axis->assign(static_cast<std::size_t>(vcg.frames), 0.0f);
    render_heart(s, v, c.site.duration_s, c.hrv_scale, visit_rng, vcg, r.truth);

    Rng noise_rng(derive_seed(c.seed, site, Stream::Noise, static_cast<std::uint64_t>(index)));
    r.truth.snr_db = acquire(c.site, im.signature, im.banks, s, vcg, c.samples(), options.noise, noise_rng, signal);

    // Findings as generated: rhythms with an episode of >= min(1 s, duration / 4), ectopy only when
    // an ectopic beat fell inside the record, first-degree block only where there are P waves.
    Findings& f = v.findings;
    f.rhythms.clear();
    double longest = -1;
    for (const Episode& e : r.truth.episodes) {
        const double length = e.end_s - e.start_s;
        if ((length >= std::min(1.0, c.site.duration_s / 4) || r.truth.episodes.size() == 1) &&
            std::find(f.rhythms.begin(), f.rhythms.end(), e.rhythm) == f.rhythms.end())
            f.rhythms.push_back(e.rhythm);
        if (length > longest) longest = length, f.rhythm = e.rhythm;
    }
    f.pvc = f.pac = false;
    for (const Beat& b : r.truth.beats) {
        f.pvc = f.pvc || b.type == 'V';
        f.pac = f.pac || b.type == 'A';
    }
    f.avb1 = f.avb1 && std::isfinite(r.truth.pr_ms);
    r.findings = f;
    r.labels = label_vector(c.label_set, f.statements());
    r.covariates = im.record_covariates(s, index);

    // Missing leads (own stream: the signal of the present leads does not depend on it).
    Rng lead_rng(derive_seed(c.seed, site, Stream::Covariates, static_cast<std::uint64_t>(index) ^ 0x1EADull));
    const std::int64_t T = c.samples();
    for (int k = 0; k < kLeadCount; ++k) {
        const bool present = !(c.site.lead_missing_rate > 0 && lead_rng.chance(c.site.lead_missing_rate));
        r.lead_present[static_cast<std::size_t>(k)] = present;
        if (!present) std::fill(signal + k * T, signal + (k + 1) * T, 0.0f);
    }

    Rng report_rng(derive_seed(c.seed, site, Stream::Report, static_cast<std::uint64_t>(index)));
    r.report = write_report(f, r.truth, c.report_omission_rate, report_rng);
    return r;
}

}  // namespace ecgbench::synth
