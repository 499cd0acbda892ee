// Internal pieces of the synthetic cohort shared by its translation units: geometry, the subject
// and visit state, and the stages of record generation.
#pragma once

#include "ecgbench/synth.hpp"
#include "synth/random.hpp"

#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

namespace ecgbench::synth {

inline constexpr double kPi = std::numbers::pi;
inline double deg(double degrees) { return degrees * kPi / 180.0; }

// ---------------------------------------------------------------------------------------------
// Geometry. Body frame: x toward the patient's left, y toward the feet, z anterior.

struct Vec3 {
    double x = 0, y = 0, z = 0;
};
inline Vec3 operator+(Vec3 a, Vec3 b) { return {a.x + b.x, a.y + b.y, a.z + b.z}; }
inline Vec3 operator-(Vec3 a, Vec3 b) { return {a.x - b.x, a.y - b.y, a.z - b.z}; }
inline Vec3 operator*(double s, Vec3 a) { return {s * a.x, s * a.y, s * a.z}; }
inline double dot(Vec3 a, Vec3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
inline Vec3 unit(Vec3 v) {
    const double n = std::sqrt(dot(v, v));
    return n > 0 ? (1.0 / n) * v : v;
}
/// Removes `fraction` of v's component along unit u when v points toward u (lost myocardium).
inline Vec3 remove_toward(Vec3 v, Vec3 u, double fraction) {
    const double along = dot(v, u);
    return along > 0 ? v - (fraction * along) * u : v;
}

struct Mat3 {
    std::array<double, 9> m{1, 0, 0, 0, 1, 0, 0, 0, 1};
    Vec3 operator()(Vec3 v) const {
        return {m[0] * v.x + m[1] * v.y + m[2] * v.z, m[3] * v.x + m[4] * v.y + m[5] * v.z,
                m[6] * v.x + m[7] * v.y + m[8] * v.z};
    }
    Mat3 operator*(const Mat3& o) const {
        Mat3 r;
        for (int i = 0; i < 3; ++i)
            for (int j = 0; j < 3; ++j) {
                double s = 0;
                for (int k = 0; k < 3; ++k) s += m[static_cast<std::size_t>(3 * i + k)] * o.m[static_cast<std::size_t>(3 * k + j)];
                r.m[static_cast<std::size_t>(3 * i + j)] = s;
            }
        return r;
    }
};
/// Rotation in the frontal plane (about z); positive turns +x toward +y (clockwise axis shift).
Mat3 rotate_frontal(double degrees);
/// Rotation in the transverse plane (about y); positive turns +x toward +z (anterior).
Mat3 rotate_transverse(double degrees);
/// Rotation in the sagittal plane (about x); positive turns +y toward +z.
Mat3 rotate_sagittal(double degrees);

// ---------------------------------------------------------------------------------------------
// Subject and visit

enum class Conduction : int { None, Avb1, Lbbb, Rbbb };

/// Everything fixed for a person across visits: covariates (true values), chronic disease and
/// proneness to intermittent findings, and physiology.
struct Subject {
    // Covariates (true values; the recorded ones may be missing).
    double age = 60, bmi = 26, sbp = 125, total_cholesterol = 200, hdl = 50;
    bool male = false, smoker = false, diabetic = false, bp_treated = false;
    double risk = 10;  // Framingham 10-year CVD risk, percent
    // Chronic findings.
    Territory mi = Territory::None;
    bool mi_acute = false;
    Conduction conduction = Conduction::None;
    bool lvh = false, lvh_strain = false, long_qt = false;
    // Intermittent findings: proneness and type.
    bool af_prone = false, flutter_prone = false, sttc_prone = false, pvc_prone = false, pac_prone = false;
    Repolarisation sttc_type = Repolarisation::None;
    // Physiology.
    double axis_deg = 55, transverse_deg = 0, sagittal_deg = 0;
    double qrs_amplitude = 1.3, qrs_ms = 90, pr_ms = 150, qtc_ms = 410, hr_bpm = 70;
    double p_amplitude = 0.12, t_amplitude = 0.35, t_axis_offset_deg = -10;
    double resp_hz = 0.25, rr_sd = 0.04, lf_hf = 1.5;
    double mi_q = 0.35, mi_st = 0.2, mi_t = 0.2, lvh_factor = 1.9, sttc_severity = 0.7;
    double avb_pr_ms = 260, lqt_qtc_ms = 490;
    Vec3 ectopic_focus{1, 0, 0};
    Vec3 ectopic_p{0.3, -0.8, 0.3};
    double chest_shift_deg = 0;
};

/// A subject at one visit: the rhythm and intermittent findings of this record, and its jitter.
struct Visit {
    Findings findings;
    double hr_bpm = 70;             // requested sinus (or flutter) rate
    double af_hr_bpm = 100;         // requested ventricular rate during AF
    double amplitude = 1.0;         // visit-level voltage jitter
    double resp_phase = 0;
    // AF episode inside the record (paroxysmal) or covering it: [af_start, af_end) in seconds.
    double af_start = -1e9, af_end = -1e9;
    double flutter_hz = 5, flutter_conduction = 2;
    double pvc_rate = 0, pac_rate = 0;  // per-beat probability
};

// ---------------------------------------------------------------------------------------------
// Generation stages (each in its own translation unit)

/// Where the heart stage writes: the body-frame VCG over `frames` samples starting at `t0`.
struct VcgBuffer {
    double fs = 500;
    double t0 = 0;          // time of sample 0 (negative: filter warm-up before the record)
    std::int64_t frames = 0;
    std::vector<float> x, y, z;
};

/// Beats, waves and atrial activity of one record into `vcg`; beat times and fiducials (of beats
/// with 0 <= R < duration) into `truth`. Draws from `rng` (the visit stream).
void render_heart(const Subject& s, const Visit& v, double duration_s, double hrv_scale, Rng& rng, VcgBuffer& vcg,
                  Truth& truth);

/// A site's long noise recordings (NSTDB style), cut at random offsets per electrode and record.
struct NoiseBanks {
    std::vector<float> baseline, muscle, motion;  // unit RMS each
    std::vector<float> mains_sin, mains_cos, mains3_sin, mains3_cos;  // per record sample; empty above Nyquist
};
/// `frames`: samples a record is generated over (incl. filter warm-up).
NoiseBanks make_noise_banks(const SiteConfig& site, std::uint64_t seed, std::int64_t frames);

/// Hidden per-site device signature (from the site id, scaled by site_shift).
struct SiteSignature {
    double gain = 1, chest_shift_deg = 0;
    std::array<double, 4> noise_weight{1, 1, 1, 1};  // baseline, muscle, motion, powerline
};
SiteSignature site_signature(const SiteConfig& site);

/// Lead fields of I, II, V1..V6 with electrode jitter, the VCG projected onto them, the site's
/// noise at the requested SNR, analogue filters, gain and ADC, then the derived limb leads.
/// Writes [12][samples] to `out`; returns the achieved SNR in dB.
double acquire(const SiteConfig& site, const SiteSignature& signature, const NoiseBanks& banks, const Subject& s,
               const VcgBuffer& vcg, std::int64_t samples, bool with_noise, Rng& noise_rng, float* out);

/// The report text of a record.
std::string write_report(const Findings& f, const Truth& truth, double omission_rate, Rng& rng);

}  // namespace ecgbench::synth
