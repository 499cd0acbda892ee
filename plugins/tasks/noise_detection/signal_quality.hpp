// Signal-quality features of one ECG lead, computed from the raw samples (no learned encoder), for
// the `noise_detection` task: spectral power fractions, moments, the agreement of two R-peak
// detectors (bSQI, Li, Clark & Clifford 2008) and HRV statistics of the detected beats. Plain
// vectors in and out; the spectrum is computed with LibTorch's FFT inside the .cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ecgbench::quality {

/// Shares of the periodogram's power above DC in the baseline band (0, 1] Hz, the QRS band
/// [5, 15] Hz and above 40 Hz (0 when 40 Hz is at or above Nyquist). A flat signal gives 0, 0, 0.
struct BandFractions {
    double baseline = 0, qrs = 0, high = 0;
};
BandFractions band_power_fractions(const float* x, std::int64_t n, double fs);

/// Sample skewness m3 / m2^1.5 and kurtosis m4 / m2² (3 for a Gaussian, 1.5 for a sine; not the
/// excess), with central moments m_k = mean((x − mean)^k); 0 for a flat signal.
double skewness(const float* x, std::int64_t n);
double kurtosis(const float* x, std::int64_t n);

/// HRV statistics of an RR series in ms: mean, SDNN (population SD), RMSSD (root mean square of
/// successive differences), and the fraction of implausible intervals (< 300 ms or > 2000 ms, i.e.
/// beyond 200 or 30 bpm). Fewer than two intervals: SDNN and RMSSD 0 (one interval) or all 0 (none).
struct RrStatistics {
    double mean_ms = 0, sdnn_ms = 0, rmssd_ms = 0, implausible = 0;
};
RrStatistics rr_statistics(const std::vector<double>& rr_ms);

/// A second, simpler R-peak detector for bSQI: the central-difference slope magnitude smoothed over
/// 40 ms, local maxima above half its 98th percentile, at least 250 ms apart.
std::vector<std::int64_t> slope_peaks(const float* x, std::int64_t n, double fs);

/// bSQI: beats the two detectors agree on (within `tolerance` samples, each matched once) over the
/// union, matched / (|a| + |b| − matched); 0 when neither found a beat.
double beat_agreement(const std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b, std::int64_t tolerance);

/// The task's features of one lead, in feature_names() order: the band fractions, skewness,
/// kurtosis, bSQI (Pan–Tompkins vs slope_peaks, 150 ms), beats per minute, and the RR statistics of
/// the Pan–Tompkins beats (a window with fewer than two beats: mean RR = the window's length, SDNN
/// and RMSSD 0, implausible fraction 1).
std::vector<double> lead_features(const float* x, std::int64_t n, double fs);
const std::vector<std::string>& feature_names();

}  // namespace ecgbench::quality
