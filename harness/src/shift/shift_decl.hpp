// Distribution shift at evaluation time: noise at a given SNR, a device's bandwidth and sampling
// rate, and missing leads, applied to the test split of an evaluation cell (the head is fitted on
// the clean train/val splits, then tested on shifted data, as in robustness studies). Conditions
// combine freely in one declaration (noise, a band and a lead subset together) and enter the cell's
// identity. This header is the declaration only
// (no LibTorch), for the experiment parser; shift.hpp applies it.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace ecgbench {

/// One shift condition (one `shifts` entry of an [[evaluation]]).
struct ShiftDecl {
    std::string name;                 ///< label in the store and reports ("" = no shift declared)
    /// Noise type: "" (none), "baseline" (wander), "muscle", "motion" (electrode motion),
    /// "powerline", "mixed" (the four at equal power), "gaussian" (white); the first four are the
    /// synthetic cohort's noise model (synth::make_noise_banks), at the data's sampling rate.
    std::string noise;
    /// Real noise instead: a WFDB record (path without extension, e.g. NSTDB's `ma`), resampled to
    /// the data's rate; lead k takes the record's signal k mod its signal count.
    std::string noise_record;
    double snr_db = 0;                ///< per lead and record: 10·log10(signal variance / noise variance)
    std::vector<std::string> leads;   ///< leads kept (the others are absent: zero, lead_present false); empty = all
    std::int64_t random_leads = 0;    ///< keep this many leads drawn at random per record (0 = off)
    /// A cheaper device's band: zero-phase Butterworth high-pass / low-pass at these corners (0 = that
    /// side open), as the preprocessing pipeline's `bandpass` step filters.
    double highpass_hz = 0, lowpass_hz = 0;
    /// A lower sampling rate: each record resampled down to this rate and back up to the data's
    /// (anti-aliasing polyphase FIR both ways), so the encoder keeps its input rate; 0 = off.
    double resample_hz = 0;
    /// Cross-dataset: test on this [[dataset]]'s test split instead of the evaluation dataset's (the
    /// head still fitted on the evaluation dataset's train/val; labels matched by class name). The
    /// other steps then apply to that data. "" = the evaluation dataset's own test split.
    std::string test_dataset;

    bool changes_data() const {
        return !noise.empty() || !noise_record.empty() || !leads.empty() || random_leads > 0 || highpass_hz > 0 || lowpass_hz > 0 ||
               resample_hz > 0 || !test_dataset.empty();
    }
    /// What changes the data (not the label), as JSON: part of the cell identity (the plan replaces
    /// `test_dataset`'s name with that dataset's configuration, so the cell follows its content).
    nlohmann::json identity() const;
    /// Why data at `sampling_rate_hz` cannot take this shift (a band corner at or above Nyquist, a
    /// resampling rate not below the data's), or "" when it can.
    std::string rate_problem(double sampling_rate_hz) const;
};

/// Noise types `ShiftDecl::noise` accepts.
const std::vector<std::string>& shift_noise_types();

/// Named lead sets: "limb" (I, II, III, aVR, aVL, aVF), "precordial" (V1–V6), and the PhysioNet/CinC
/// 2021 reduced sets "cinc6" (= limb), "cinc4" (I, II, III, V2), "cinc3" (I, II, V2), "cinc2" (I, II).
/// Throws std::invalid_argument for another name.
std::vector<std::string> lead_preset(const std::string& name);

}  // namespace ecgbench
