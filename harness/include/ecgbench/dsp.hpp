// Signal-processing primitives on one lead at a time (plain floats, no LibTorch): polyphase
// resampling, IIR design and (zero-phase) filtering, median baseline removal, QRS detection. Part of the plugin API
// (libecgbench_api): the preprocessing pipeline, the synthetic cohort's analogue front end and noise,
// the dataset plugins' resampling, noise detection's features and beat-level methods all call this one
// copy.
#pragma once

#include <cstdint>
#include <vector>

namespace ecgbench::dsp {

/// Rational resampling factor up/down in lowest terms for `from_hz` -> `to_hz` (rates are
/// rounded to 1 mHz). Throws std::invalid_argument when up or down would exceed 1000.
struct Ratio {
    std::int64_t up = 1, down = 1;
};
Ratio resampling_ratio(double from_hz, double to_hz);

/// Output length of resample_poly: ceil(n * up / down).
std::int64_t resampled_length(std::int64_t n, Ratio ratio);

/// Anti-aliasing FIR of resample_poly: 2 * 10 * max(up, down) + 1 taps, windowed sinc with cutoff
/// 1 / max(up, down) (Nyquist = 1), Kaiser window beta = 5, DC gain `up` (as scipy.signal's).
std::vector<double> resampling_filter(Ratio ratio);

/// Upsample by `up` (zero insertion), filter with `filter` (centred), keep every `down`-th sample,
/// evaluated only where it is kept (polyphase). Output sample 0 is aligned with input sample 0 and
/// the input is zero outside its range, as scipy.signal.resample_poly with padtype "constant".
void resample_poly(const float* in, std::int64_t n, Ratio ratio, const std::vector<double>& filter, float* out);

/// One second-order section: y = (b0 + b1 z^-1 + b2 z^-2) / (1 + a1 z^-1 + a2 z^-2) x.
struct Biquad {
    double b0 = 1, b1 = 0, b2 = 0, a1 = 0, a2 = 0;
};
/// Second-order Butterworth low- or high-pass (bilinear transform with pre-warping).
Biquad butterworth(double corner_hz, double fs, bool high_pass);
/// Notch at `hz` with quality `q` (bandwidth hz / q).
Biquad notch(double hz, double q, double fs);

/// Causal filtering through one section, starting at rest (an analogue front end switched on).
void lfilter(const Biquad& section, float* x, std::int64_t n);

/// Zero-phase filtering (forward, then backward) through the cascade `sections`, with odd
/// reflection of `pad` samples at both ends to tame edge transients (scipy's filtfilt "odd" pad).
/// The magnitude response is the cascade's squared; the phase is zero.
void filtfilt(const std::vector<Biquad>& sections, float* x, std::int64_t n, std::int64_t pad);

/// Baseline estimate removed: two passes of a running median of `first` then `second` samples
/// (odd; de Chazal et al. 2004 use 200 ms then 600 ms), subtracted from the signal.
void remove_median_baseline(float* x, std::int64_t n, std::int64_t first, std::int64_t second);

/// Running median of odd width `width` (edges use the shrinking window inside the signal).
void running_median(const float* in, std::int64_t n, std::int64_t width, float* out);

/// R-peak sample indices (ascending, at least 200 ms apart) of a record given as `leads` (each `n`
/// samples at `fs` Hz, fs >= 50), by a multi-lead, zero-phase Pan-Tompkins detector (qrs.cpp says
/// what it follows and what it changes). A record shorter than 1 s gives none.
std::vector<std::int64_t> detect_qrs(const std::vector<const float*>& leads, std::int64_t n, double fs);

}  // namespace ecgbench::dsp
