// The synthetic cohort: realistic 12-lead ECGs with covariates, findings, reports and ground truth.
// Shared by the `synthetic` dataset plugin and `ecgbench synth` (WFDB export); part of the plugin API
// library, so a plugin can build a derived cohort on it (tests/out_of_tree/af_cohort.cpp). No LibTorch here.
//
// Model summary (details in the .cpp files and the README's "Synthetic cohort" section):
//  * Signal: a heart dipole in the spirit of ECGSYN (McSharry et al. 2003): each beat is a sum of
//    Gaussian events (P as right+left atrial parts; q, R components, S, optional R'; asymmetric T as
//    two parts), here each with its own 3-D direction, so the vectorcardiogram loops. The VCG is
//    rotated by the subject's heart orientation and projected onto the lead fields of I, II and
//    V1–V6 (with electrode-placement jitter); III, aVR, aVL, aVF are derived from I and II exactly.
//  * Rhythm: an RR tachogram with LF (0.1 Hz) and HF (respiratory, RSA) components; sinus, sinus
//    brady/tachycardia, atrial fibrillation (irregular RR, no P, fibrillatory waves, paroxysmal
//    onsets), atrial flutter (sawtooth F waves, 2:1–4:1 conduction), PVCs (compensatory pause) and
//    PACs (ectopic P, sinus reset), first-degree AV block.
//  * Morphology: LBBB, RBBB, LVH (± strain), MI by territory (pathological Q, acute ST elevation
//    or T inversion), ST depression / T inversion / non-specific ST-T, long QT.
//  * Cohort: subjects with several visits; age, sex, BMI, blood pressure, cholesterol, smoking,
//    diabetes and a Framingham 10-year CVD risk; physiology depends on them; disease depends on
//    them only when `confounding` is on.
//  * Acquisition site: sampling rate, analogue band-pass, gain, ADC resolution, noise mix
//    (baseline wander, muscle, electrode motion, powerline) at a target SNR, missing leads.
#pragma once

#include "ecgbench/params.hpp"

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <map>
#include <string>
#include <vector>

namespace ecgbench::synth {

inline constexpr int kLeadCount = 12;

/// I, II, III, aVR, aVL, aVF, V1..V6: the order of every generated record.
const std::vector<std::string>& lead_names();

// ---------------------------------------------------------------------------------------------
// Statements (labels)

/// Findings as PTB-XL statements. Superclasses and SNOMED-CT codes in statement_info().
enum class Statement : int {
    NORM, IMI, AMI, LMI, ISC_, NST_, LNGQT, AVB1, CLBBB, CRBBB, LVH,  // diagnostic
    SR, SBRAD, STACH, AFIB, AFLT,                                    // rhythm
    PVC, PAC,                                                        // form
    Count
};
inline constexpr int kStatementCount = static_cast<int>(Statement::Count);

struct StatementInfo {
    const char* code;        ///< PTB-XL statement code
    const char* kind;        ///< "diagnostic", "rhythm" or "form"
    const char* superclass;  ///< PTB-XL diagnostic superclass ("" for rhythm/form statements)
    const char* snomed;      ///< SNOMED-CT code as used by the PhysioNet/CinC 2020–21 challenges
    const char* description;
};
const StatementInfo& statement_info(Statement s);

/// Label sets: "superdiagnostic" (NORM MI STTC CD HYP), "diagnostic", "rhythm", "form", "all".
const std::vector<std::string>& label_sets();
/// Class names of a label set (std::invalid_argument for an unknown set).
std::vector<std::string> label_set_classes(const std::string& set);
/// A short clinical description of each class of a label set (the zero-shot prompts' default).
std::map<std::string, std::string> label_set_descriptions(const std::string& set);

// ---------------------------------------------------------------------------------------------
// Configuration

/// One acquisition site (device + population). Two datasets with different sites give a shift.
struct SiteConfig {
    std::int64_t site = 0;             ///< identity: seeds the site's hidden device signature
    double site_shift = 1.0;           ///< strength of that hidden signature (0 = none)
    double sampling_rate = 100;        ///< PTB-XL's records100 rate; 500 for records500
    double duration_s = 10;
    double highpass_hz = 0.05;         ///< analogue first-order high-pass corner (0 = DC-coupled)
    double lowpass_hz = 150;           ///< analogue second-order low-pass corner (0 = only anti-alias)
    double gain = 1.0;                 ///< amplifier gain (calibration error multiplies the signal)
    double adc_resolution_uv = 1.0;    ///< quantisation step in µV (0 = none)
    double snr_db = 24;                ///< mean target SNR over the 12 leads
    double snr_spread_db = 4;          ///< per-record SD of the target SNR
    double noise_baseline = 0.35;      ///< relative electrode-level power of each noise type
    double noise_muscle = 0.35;
    double noise_motion = 0.15;
    double noise_powerline = 0.15;
    double powerline_hz = 50;
    double lead_missing_rate = 0;      ///< probability that a lead is absent from a record
    double age_mean = 60, age_sd = 15;
    double male_fraction = 0.5;
};

/// Per-finding prevalences (fraction of records, at the reference population when confounded).
struct Prevalence {
    double mi = 0.15, sttc = 0.15, cd = 0.15, hyp = 0.12, long_qt = 0.05;
    double af = 0.10, flutter = 0.03, brady = 0.08, tachy = 0.08, pvc = 0.08, pac = 0.08;
};

struct CohortConfig {
    std::uint64_t seed = 0;
    std::int64_t records = 1000;
    std::int64_t records_per_subject = 3;
    SiteConfig site;
    Prevalence prevalence;
    bool confounding = true;              ///< disease risk rises with age / risk score / blood pressure
    double covariate_missing_rate = 0.05; ///< per covariate and record
    double report_omission_rate = 0.1;    ///< probability a finding is left out of the report
    double paroxysmal_rate = 0.3;         ///< fraction of AF records with an onset or offset inside
    double hrv_scale = 1.0;               ///< multiplies RR variability (0 = metronome)
    std::string label_set = "superdiagnostic";
    std::int64_t samples() const;
};

/// Parameter schema of the cohort (the `synthetic` plugin's params, `ecgbench synth --set`).
const std::vector<ParamSpec>& param_specs();
/// Config from validated params (std::invalid_argument naming the field when inconsistent).
CohortConfig config_from_params(const Params& params);
/// Generator version: bump whenever the same params would produce different records.
inline constexpr const char* kGeneratorVersion = "2";

// ---------------------------------------------------------------------------------------------
// One generated record

enum class Rhythm : int { Sinus, SinusBrady, SinusTachy, Af, Flutter };
const char* rhythm_name(Rhythm r);  ///< "SR", "SBRAD", "STACH", "AFIB", "AFLT"

enum class Territory : int { None, Inferior, Anterior, Lateral };
enum class Repolarisation : int { None, StDepression, TInversion, NonSpecific };

struct Findings {
    Rhythm rhythm = Rhythm::Sinus;    ///< dominant rhythm of the record
    std::vector<Rhythm> rhythms;      ///< every rhythm with an episode in the record (paroxysmal AF: two)
    bool pvc = false, pac = false;
    bool avb1 = false, lbbb = false, rbbb = false;
    bool lvh = false, lvh_strain = false;
    Territory mi = Territory::None;
    bool mi_acute = false;
    Repolarisation sttc = Repolarisation::None;
    bool long_qt = false;
    /// Every PTB-XL statement that holds (NORM iff no abnormal finding at all).
    std::vector<Statement> statements() const;
    /// SNOMED-CT codes of the findings (T inversion and ST depression get their own codes).
    std::vector<std::string> snomed_codes() const;
};

/// Multi-hot vector of `statements` over a label set's classes.
std::vector<float> label_vector(const std::string& set, const std::vector<Statement>& statements);

/// Covariates as recorded; NaN marks a missing value.
struct Covariates {
    double age = 0, sex = 0, bmi = 0, sbp = 0, total_cholesterol = 0, hdl = 0;
    double smoking = 0, diabetes = 0, bp_treated = 0;
    double risk_score = 0;  ///< Framingham general CVD 10-year risk in percent, as documented
};
/// Framingham general cardiovascular 10-year risk in percent (D'Agostino et al. 2008): age in
/// years, cholesterol in mg/dL, systolic BP in mmHg.
double framingham_risk(double age, bool male, double total_cholesterol, double hdl, double sbp, bool bp_treated,
                       bool smoker, bool diabetic);

/// Covariate names in a fixed order, with accessors, for tables and tensors.
const std::vector<std::string>& covariate_names();
double covariate(const Covariates& c, std::size_t index);

struct Beat {
    double r_s = 0;          ///< time of the R peak (main ventricular component), seconds
    char type = 'N';         ///< 'N' normal, 'V' PVC, 'A' PAC (MIT-BIH symbols)
    double p_on = 0, p_off = 0;  ///< NaN when the beat has no P wave (AF, flutter, PVC)
    double qrs_on = 0, qrs_off = 0, t_on = 0, t_off = 0;
};

struct Episode {
    double start_s = 0, end_s = 0;
    Rhythm rhythm = Rhythm::Sinus;
};

/// Ground truth no real database has.
struct Truth {
    std::vector<Beat> beats;          ///< beats whose R peak lies inside the record
    std::vector<Episode> episodes;    ///< rhythm episodes covering the record
    double requested_hr_bpm = 0;      ///< the visit's target rate
    double hr_bpm = 0;                ///< 60 / mean RR of consecutive beats in the record
    double pr_ms = 0, qrs_ms = 0, qt_ms = 0, qtc_ms = 0;  ///< medians over normal beats (PR NaN without P)
    double snr_db = 0;                ///< achieved 12-lead SNR (inf when noise is off)
};

struct Record {
    std::int64_t index = 0;
    std::int64_t subject = 0;
    int split = 0;                            ///< 0 train, 1 val, 2 test (patient-disjoint)
    std::string id;                           ///< "s<seed>-<site>-<index>"
    Findings findings;
    Covariates covariates;                    ///< as recorded (with missing values)
    Truth truth;
    std::string report;                       ///< free-text report
    std::array<bool, kLeadCount> lead_present{};
    std::vector<float> labels;                ///< multi-hot over the config's label set
};

struct GenerateOptions {
    bool noise = true;  ///< false: the clean signal (same physiology, same filters and gain)
};

/// A seeded cohort. Construction is cheap except for the site's noise banks (a few ms);
/// generate() is thread-safe and deterministic per index.
class Cohort {
public:
    explicit Cohort(CohortConfig config);
    ~Cohort();
    Cohort(Cohort&&) noexcept;
    Cohort& operator=(Cohort&&) noexcept;

    const CohortConfig& config() const;
    std::int64_t samples() const;
    std::int64_t subjects() const;
    /// 0 train, 1 val, 2 test: patient-disjoint, known without generating.
    int split_of_subject(std::int64_t subject) const;
    /// Writes record `index` into `signal` ([12][samples], lead-major, mV) and returns the rest.
    Record generate(std::int64_t index, float* signal, const GenerateOptions& options = {}) const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// ---------------------------------------------------------------------------------------------
// Export

/// Writes records [0, config.records) to `dir` as WFDB (format 16, 1 µV/unit, leads I … V6),
/// `<record>.atr` (beats and rhythm changes), `<record>.fid` (P/QRS/T on/offsets, LUDB style)
/// and `metadata.csv`. Uses `threads` workers; output bytes do not depend on it.
void export_wfdb(const Cohort& cohort, const std::filesystem::path& dir, int threads);

/// Header line and one row of metadata.csv (exposed for tests).
std::string metadata_csv_header();
std::string metadata_csv_row(const Record& record, const CohortConfig& config);

}  // namespace ecgbench::synth
