#include "signal_quality.hpp"

#include "ecgbench/dsp.hpp"

#include <ATen/ATen.h>

#include <algorithm>
#include <array>
#include <cmath>

namespace ecgbench::quality {

BandFractions band_power_fractions(const float* x, std::int64_t n, double fs) {
    if (n < 2) return {};
    const at::Tensor signal = at::from_blob(const_cast<float*>(x), {n}, at::kFloat).to(at::kDouble);
    const at::Tensor power = at::fft_rfft(signal - signal.mean()).abs().pow(2);
    const at::Tensor hz = at::arange(power.size(0), at::kDouble) * (fs / static_cast<double>(n));
    const at::Tensor above_dc = hz.gt(0);
    const double total = power.masked_select(above_dc).sum().item<double>();
    if (total <= 0) return {};
    auto share = [&](const at::Tensor& band) { return power.masked_select(band.logical_and(above_dc)).sum().item<double>() / total; };
    return {share(hz.le(1.0)), share(hz.ge(5.0).logical_and(hz.le(15.0))), share(hz.gt(40.0))};
}

namespace {
/// Central moments 2, 3, 4.
std::array<double, 3> moments(const float* x, std::int64_t n) {
    double mean = 0;
    for (std::int64_t k = 0; k < n; ++k) mean += x[k];
    mean /= static_cast<double>(n);
    std::array<double, 3> m{};
    for (std::int64_t k = 0; k < n; ++k) {
        const double d = x[k] - mean;
        m[0] += d * d;
        m[1] += d * d * d;
        m[2] += d * d * d * d;
    }
    for (double& v : m) v /= static_cast<double>(n);
    return m;
}
}  // namespace

double skewness(const float* x, std::int64_t n) {
    if (n < 1) return 0;
    const auto m = moments(x, n);
    return m[0] > 0 ? m[1] / std::pow(m[0], 1.5) : 0.0;
}

double kurtosis(const float* x, std::int64_t n) {
    if (n < 1) return 0;
    const auto m = moments(x, n);
    return m[0] > 0 ? m[2] / (m[0] * m[0]) : 0.0;
}

RrStatistics rr_statistics(const std::vector<double>& rr) {
    RrStatistics s;
    if (rr.empty()) return s;
    const auto n = static_cast<double>(rr.size());
    for (double v : rr) {
        s.mean_ms += v / n;
        s.implausible += (v < 300 || v > 2000) ? 1 / n : 0;
    }
    for (double v : rr) s.sdnn_ms += (v - s.mean_ms) * (v - s.mean_ms) / n;
    s.sdnn_ms = std::sqrt(s.sdnn_ms);
    for (std::size_t i = 1; i < rr.size(); ++i) s.rmssd_ms += (rr[i] - rr[i - 1]) * (rr[i] - rr[i - 1]);
    s.rmssd_ms = rr.size() > 1 ? std::sqrt(s.rmssd_ms / static_cast<double>(rr.size() - 1)) : 0.0;
    return s;
}

std::vector<std::int64_t> slope_peaks(const float* x, std::int64_t n, double fs) {
    if (n < 3) return {};
    std::vector<double> slope(static_cast<std::size_t>(n), 0.0), smooth(slope.size(), 0.0);
    for (std::int64_t k = 1; k + 1 < n; ++k) slope[static_cast<std::size_t>(k)] = std::abs(x[k + 1] - x[k - 1]);
    const auto half = std::max<std::int64_t>(1, std::llround(0.02 * fs));
    for (std::int64_t k = 0; k < n; ++k) {  // centred moving average over 40 ms
        const std::int64_t a = std::max<std::int64_t>(0, k - half), b = std::min(n - 1, k + half);
        double sum = 0;
        for (std::int64_t j = a; j <= b; ++j) sum += slope[static_cast<std::size_t>(j)];
        smooth[static_cast<std::size_t>(k)] = sum / static_cast<double>(b - a + 1);
    }
    std::vector<double> sorted = smooth;
    const auto q = static_cast<std::size_t>(0.98 * static_cast<double>(sorted.size() - 1));
    std::nth_element(sorted.begin(), sorted.begin() + static_cast<std::ptrdiff_t>(q), sorted.end());
    const double threshold = 0.5 * sorted[q];
    if (threshold <= 0) return {};
    const std::int64_t refractory = std::llround(0.25 * fs), search = std::max<std::int64_t>(1, std::llround(0.1 * fs));
    std::vector<std::int64_t> peaks;
    for (std::int64_t k = 0; k < n; ++k) {
        if (smooth[static_cast<std::size_t>(k)] <= threshold || (!peaks.empty() && k - peaks.back() < refractory)) continue;
        std::int64_t best = k;  // the maximum of the next 100 ms
        for (std::int64_t j = k; j < std::min(n, k + search); ++j)
            if (smooth[static_cast<std::size_t>(j)] > smooth[static_cast<std::size_t>(best)]) best = j;
        peaks.push_back(best);
        k = best;
    }
    return peaks;
}

double beat_agreement(const std::vector<std::int64_t>& a, const std::vector<std::int64_t>& b, std::int64_t tolerance) {
    std::size_t i = 0, j = 0;
    double matched = 0;
    while (i < a.size() && j < b.size()) {  // both ascending: greedy two-pointer matching
        if (std::abs(a[i] - b[j]) <= tolerance) {
            ++matched, ++i, ++j;
        } else if (a[i] < b[j]) {
            ++i;
        } else {
            ++j;
        }
    }
    const double both = static_cast<double>(a.size() + b.size()) - matched;
    return both > 0 ? matched / both : 0.0;
}

const std::vector<std::string>& feature_names() {
    static const std::vector<std::string> names{"power_0_1hz",  "power_5_15hz", "power_above_40hz", "skewness",
                                                "kurtosis",     "bsqi",         "beats_per_minute", "mean_rr_ms",
                                                "sdnn_ms",      "rmssd_ms",     "implausible_rr"};
    return names;
}

std::vector<double> lead_features(const float* x, std::int64_t n, double fs) {
    const BandFractions bands = band_power_fractions(x, n, fs);
    const std::vector<std::int64_t> beats = dsp::detect_qrs({x}, n, fs);
    const double seconds = static_cast<double>(n) / fs;
    std::vector<double> rr;
    for (std::size_t i = 1; i < beats.size(); ++i) rr.push_back(static_cast<double>(beats[i] - beats[i - 1]) * 1000.0 / fs);
    RrStatistics hrv = rr_statistics(rr);
    if (rr.empty()) hrv = {seconds * 1000.0, 0.0, 0.0, 1.0};  // under two beats: implausible by itself
    return {bands.baseline,
            bands.qrs,
            bands.high,
            skewness(x, n),
            kurtosis(x, n),
            beat_agreement(beats, slope_peaks(x, n, fs), std::llround(0.15 * fs)),
            static_cast<double>(beats.size()) * 60.0 / seconds,
            hrv.mean_ms,
            hrv.sdnn_ms,
            hrv.rmssd_ms,
            hrv.implausible};
}

}  // namespace ecgbench::quality
