// The cohort's parameters: every knob of the generator, documented, with bounds.
#include "ecgbench/synth.hpp"

#include <cmath>
#include <stdexcept>

namespace ecgbench::synth {

namespace {

ParamSpec real(const char* name, double value, const char* doc, double lo, double hi) {
    return {name, ParamType::Float, value, doc, lo, hi, {}};
}
ParamSpec integer(const char* name, std::int64_t value, const char* doc, double lo, double hi) {
    return {name, ParamType::Int, value, doc, lo, hi, {}};
}

}  // namespace

std::int64_t CohortConfig::samples() const {
    return static_cast<std::int64_t>(std::llround(site.sampling_rate * site.duration_s));
}

const std::vector<ParamSpec>& param_specs() {
    static const CohortConfig d;  // defaults live in the structs
    static const std::vector<ParamSpec> specs{
        integer("seed", 0, "generator seed", 0, 9.0e15),
        integer("records", d.records, "number of records (all splits)", 10, 1.0e7),
        integer("records_per_subject", d.records_per_subject, "visits per subject (patient-level methods pair them)", 1, 1000),
        {"label_set", ParamType::String, d.label_set,
         "labels: superdiagnostic (NORM MI STTC CD HYP), diagnostic, rhythm, form or all (PTB-XL statements)",
         std::nullopt, std::nullopt, label_sets()},
        {"confounding", ParamType::Bool, d.confounding,
         "disease risk rises with age, risk score and blood pressure (false: findings independent of covariates)",
         std::nullopt, std::nullopt, {}},
        real("covariate_missing_rate", d.covariate_missing_rate, "probability that each recorded covariate is missing (NaN)", 0, 1),
        real("report_omission_rate", d.report_omission_rate, "probability that a finding is left out of the text report", 0, 1),
        real("paroxysmal_rate", d.paroxysmal_rate, "fraction of AF records with an AF onset or offset inside the record", 0, 1),
        real("hrv_scale", d.hrv_scale, "multiplies heart-rate variability (0 = metronome)", 0, 5),
        // Site / device.
        integer("site", d.site.site, "site identity: seeds a hidden device signature (0 = reference device)", 0, 1.0e6),
        real("site_shift", d.site.site_shift, "strength of the hidden site signature (gain, chest placement, noise mix)", 0, 5),
        real("sampling_rate", d.site.sampling_rate, "sampling rate in Hz", 50, 2000),
        real("duration_s", d.site.duration_s, "record length in seconds", 1, 600),
        real("highpass_hz", d.site.highpass_hz, "analogue high-pass corner in Hz (0 = DC-coupled)", 0, 5),
        real("lowpass_hz", d.site.lowpass_hz, "analogue low-pass corner in Hz (0 or >= 0.45 fs: anti-alias only)", 0, 1000),
        real("gain", d.site.gain, "amplifier gain factor (calibration error)", 0.1, 10),
        real("adc_resolution_uv", d.site.adc_resolution_uv, "ADC step in microvolts (0 = no quantisation)", 0, 100),
        real("snr_db", d.site.snr_db, "mean target SNR over the 12 leads in dB", -20, 100),
        real("snr_spread_db", d.site.snr_spread_db, "per-record SD of the target SNR in dB", 0, 30),
        real("noise_baseline", d.site.noise_baseline, "relative power of baseline wander in the noise mix", 0, 100),
        real("noise_muscle", d.site.noise_muscle, "relative power of muscle artefact in the noise mix", 0, 100),
        real("noise_motion", d.site.noise_motion, "relative power of electrode motion in the noise mix", 0, 100),
        real("noise_powerline", d.site.noise_powerline, "relative power of powerline interference in the noise mix", 0, 100),
        real("powerline_hz", d.site.powerline_hz, "mains frequency (50 or 60 Hz)", 40, 70),
        real("lead_missing_rate", d.site.lead_missing_rate, "probability that a lead is absent from a record", 0, 0.9),
        real("age_mean", d.site.age_mean, "population mean age in years", 20, 90),
        real("age_sd", d.site.age_sd, "population SD of age in years", 0, 30),
        real("male_fraction", d.site.male_fraction, "fraction of male subjects", 0, 1),
        // Prevalences.
        real("prevalence_mi", d.prevalence.mi, "fraction of subjects with myocardial infarction", 0, 0.9),
        real("prevalence_sttc", d.prevalence.sttc, "fraction of records with ST-T changes", 0, 0.9),
        real("prevalence_cd", d.prevalence.cd, "fraction of subjects with a conduction disturbance (1AVB, LBBB, RBBB)", 0, 0.9),
        real("prevalence_hyp", d.prevalence.hyp, "fraction of subjects with LVH", 0, 0.9),
        real("prevalence_long_qt", d.prevalence.long_qt, "fraction of subjects with a long QT", 0, 0.9),
        real("prevalence_af", d.prevalence.af, "fraction of records with atrial fibrillation", 0, 0.9),
        real("prevalence_flutter", d.prevalence.flutter, "fraction of records with atrial flutter", 0, 0.9),
        real("prevalence_brady", d.prevalence.brady, "fraction of sinus records with sinus bradycardia", 0, 0.9),
        real("prevalence_tachy", d.prevalence.tachy, "fraction of sinus records with sinus tachycardia", 0, 0.9),
        real("prevalence_pvc", d.prevalence.pvc, "fraction of records with PVCs", 0, 0.9),
        real("prevalence_pac", d.prevalence.pac, "fraction of records with PACs", 0, 0.9),
    };
    return specs;
}

CohortConfig config_from_params(const Params& p) {
    CohortConfig c;
    c.seed = static_cast<std::uint64_t>(p.get_int("seed"));
    c.records = p.get_int("records");
    c.records_per_subject = p.get_int("records_per_subject");
    c.label_set = p.get_string("label_set");
    c.confounding = p.get_bool("confounding");
    c.covariate_missing_rate = p.get_float("covariate_missing_rate");
    c.report_omission_rate = p.get_float("report_omission_rate");
    c.paroxysmal_rate = p.get_float("paroxysmal_rate");
    c.hrv_scale = p.get_float("hrv_scale");
    SiteConfig& s = c.site;
    s.site = p.get_int("site");
    s.site_shift = p.get_float("site_shift");
    s.sampling_rate = p.get_float("sampling_rate");
    s.duration_s = p.get_float("duration_s");
    s.highpass_hz = p.get_float("highpass_hz");
    s.lowpass_hz = p.get_float("lowpass_hz");
    s.gain = p.get_float("gain");
    s.adc_resolution_uv = p.get_float("adc_resolution_uv");
    s.snr_db = p.get_float("snr_db");
    s.snr_spread_db = p.get_float("snr_spread_db");
    s.noise_baseline = p.get_float("noise_baseline");
    s.noise_muscle = p.get_float("noise_muscle");
    s.noise_motion = p.get_float("noise_motion");
    s.noise_powerline = p.get_float("noise_powerline");
    s.powerline_hz = p.get_float("powerline_hz");
    s.lead_missing_rate = p.get_float("lead_missing_rate");
    s.age_mean = p.get_float("age_mean");
    s.age_sd = p.get_float("age_sd");
    s.male_fraction = p.get_float("male_fraction");
    Prevalence& v = c.prevalence;
    v.mi = p.get_float("prevalence_mi");
    v.sttc = p.get_float("prevalence_sttc");
    v.cd = p.get_float("prevalence_cd");
    v.hyp = p.get_float("prevalence_hyp");
    v.long_qt = p.get_float("prevalence_long_qt");
    v.af = p.get_float("prevalence_af");
    v.flutter = p.get_float("prevalence_flutter");
    v.brady = p.get_float("prevalence_brady");
    v.tachy = p.get_float("prevalence_tachy");
    v.pvc = p.get_float("prevalence_pvc");
    v.pac = p.get_float("prevalence_pac");

    if (c.samples() < 16) throw std::invalid_argument("synthetic: sampling_rate * duration_s gives fewer than 16 samples");
    if (v.af + v.flutter > 0.95) throw std::invalid_argument("synthetic: prevalence_af + prevalence_flutter must be <= 0.95");
    if (v.brady + v.tachy > 0.95) throw std::invalid_argument("synthetic: prevalence_brady + prevalence_tachy must be <= 0.95");
    if (s.noise_baseline + s.noise_muscle + s.noise_motion + s.noise_powerline <= 0 && s.snr_db < 100)
        throw std::invalid_argument("synthetic: the noise mix weights are all 0 but snr_db asks for noise");
    const std::int64_t subjects = (c.records + c.records_per_subject - 1) / c.records_per_subject;
    if (subjects < 3)
        throw std::invalid_argument("synthetic: records / records_per_subject must give at least 3 subjects (one per split), got " +
                                    std::to_string(subjects));
    return c;
}

}  // namespace ecgbench::synth
