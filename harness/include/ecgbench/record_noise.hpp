// Real recorded noise (e.g. the MIT-BIH Noise Stress Test Database's `bw`, `ma`, `em`) added to ECG
// leads at an exact SNR. One implementation for every user: the evaluation-time noise shift
// (shift/shift.cpp) and the `noise_detection` task, so "ma at 6 dB" means the same everywhere.
// Plain vectors, no LibTorch; part of the plugin API library (src/noise).
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace ecgbench::noise {

/// One noise channel per source signal, at the data's rate, zero mean and unit RMS.
using Bank = std::vector<std::vector<float>>;

/// Removes the mean and scales to unit RMS (an all-zero vector stays zero).
void normalise_rms(std::vector<float>& x);

/// Reads every signal of the WFDB record `record` (path without extension) in physical units,
/// invalid samples as 0, resampled to `sampling_rate_hz` (polyphase Kaiser FIR), each normalised.
/// Throws std::invalid_argument naming the record when it has no signals; WFDB errors pass through.
Bank read_record_bank(const std::string& record, double sampling_rate_hz);

/// Adds to `lead` (`samples` values) a stretch of `source` starting at a random offset drawn from
/// `engine`, with the stretch's own mean removed and scaled so that 10·log10(var(lead) / var(noise))
/// = snr_db exactly over this lead. A zero stretch adds nothing. Throws std::invalid_argument
/// naming `what` when `source` is shorter than `samples`.
void add_at_snr(float* lead, std::int64_t samples, const std::vector<float>& source, double snr_db, std::mt19937_64& engine,
                const std::string& what);

}  // namespace ecgbench::noise
