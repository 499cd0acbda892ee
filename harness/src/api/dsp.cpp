#include "ecgbench/dsp.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>
#include <stdexcept>
#include <string>

namespace ecgbench::dsp {
namespace {

constexpr double kPi = std::numbers::pi;

/// Modified Bessel function of the first kind, order 0 (power series; converges fast for beta <= 20).
double bessel_i0(double x) {
    double sum = 1, term = 1;
    for (int k = 1; k < 60; ++k) {
        term *= (x / (2.0 * k)) * (x / (2.0 * k));
        sum += term;
        if (term < 1e-17 * sum) break;
    }
    return sum;
}

double sinc(double x) { return x == 0 ? 1.0 : std::sin(kPi * x) / (kPi * x); }

/// Transposed direct form II through one section, in place, from the states z1, z2.
void filter_in_place(const Biquad& q, float* x, std::int64_t n, double z1, double z2) {
    for (std::int64_t i = 0; i < n; ++i) {
        const double in = x[i];
        const double out = q.b0 * in + z1;
        z1 = q.b1 * in - q.a1 * out + z2;
        z2 = q.b2 * in - q.a2 * out;
        x[i] = static_cast<float>(out);
    }
}

/// One pass of a biquad over x, state started at the steady state for a constant input x[0]
/// (what scipy's lfilter_zi gives), so a signal with an offset does not ring at its start.
void run(const Biquad& q, float* x, std::int64_t n) {
    if (n == 0) return;
    const double u = x[0];
    const double dc = (q.b0 + q.b1 + q.b2) / (1 + q.a1 + q.a2);
    const double y0 = dc * u;
    const double z2 = q.b2 * u - q.a2 * y0;
    filter_in_place(q, x, n, q.b1 * u - q.a1 * y0 + z2, z2);
}

}  // namespace

Ratio resampling_ratio(double from_hz, double to_hz) {
    if (!(from_hz > 0) || !(to_hz > 0)) throw std::invalid_argument("resampling needs positive rates");
    const auto from = static_cast<std::int64_t>(std::llround(from_hz * 1000));
    const auto to = static_cast<std::int64_t>(std::llround(to_hz * 1000));
    const std::int64_t g = std::gcd(from, to);
    Ratio r{to / g, from / g};
    if (r.up > 1000 || r.down > 1000)
        throw std::invalid_argument("resampling " + std::to_string(from_hz) + " Hz -> " + std::to_string(to_hz) +
                                    " Hz needs the ratio " + std::to_string(r.up) + "/" + std::to_string(r.down) +
                                    " (at most 1000/1000 supported)");
    return r;
}

std::int64_t resampled_length(std::int64_t n, Ratio ratio) { return (n * ratio.up + ratio.down - 1) / ratio.down; }

std::vector<double> resampling_filter(Ratio ratio) {
    const std::int64_t max_rate = std::max(ratio.up, ratio.down);
    const std::int64_t half = 10 * max_rate, taps = 2 * half + 1;
    const double cutoff = 1.0 / static_cast<double>(max_rate), beta = 5.0;
    std::vector<double> h(static_cast<std::size_t>(taps));
    double sum = 0;
    for (std::int64_t k = 0; k < taps; ++k) {
        const double r = 2.0 * static_cast<double>(k) / static_cast<double>(taps - 1) - 1.0;
        const double window = bessel_i0(beta * std::sqrt(std::max(0.0, 1 - r * r))) / bessel_i0(beta);
        h[static_cast<std::size_t>(k)] = cutoff * sinc(cutoff * static_cast<double>(k - half)) * window;
        sum += h[static_cast<std::size_t>(k)];
    }
    for (double& v : h) v *= static_cast<double>(ratio.up) / sum;  // DC gain `up` (zero insertion loses it)
    return h;
}

void resample_poly(const float* in, std::int64_t n, Ratio ratio, const std::vector<double>& filter, float* out) {
    const auto taps = static_cast<std::int64_t>(filter.size());
    const std::int64_t half = taps / 2, m_count = resampled_length(n, ratio);
    for (std::int64_t m = 0; m < m_count; ++m) {
        const std::int64_t t = m * ratio.down;  // position on the upsampled grid
        // Input samples j whose upsampled position j*up lies within the filter: |t - j*up| <= half.
        std::int64_t first = t - half <= 0 ? 0 : (t - half + ratio.up - 1) / ratio.up;
        std::int64_t last = std::min(n - 1, (t + half) / ratio.up);
        double acc = 0;
        for (std::int64_t j = first; j <= last; ++j) acc += in[j] * filter[static_cast<std::size_t>(half + t - j * ratio.up)];
        out[m] = static_cast<float>(acc);
    }
}

Biquad butterworth(double corner_hz, double fs, bool high_pass) {
    const double w = 2 * kPi * corner_hz / fs;
    const double alpha = std::sin(w) / std::sqrt(2.0), c = std::cos(w), a0 = 1 + alpha;
    Biquad q;
    q.b0 = (high_pass ? (1 + c) : (1 - c)) / 2 / a0;
    q.b1 = (high_pass ? -(1 + c) : (1 - c)) / a0;
    q.b2 = q.b0;
    q.a1 = -2 * c / a0;
    q.a2 = (1 - alpha) / a0;
    return q;
}

Biquad notch(double hz, double q_factor, double fs) {
    const double w = 2 * kPi * hz / fs;
    const double alpha = std::sin(w) / (2 * q_factor), c = std::cos(w), a0 = 1 + alpha;
    return {1 / a0, -2 * c / a0, 1 / a0, -2 * c / a0, (1 - alpha) / a0};
}

void lfilter(const Biquad& q, float* x, std::int64_t n) { filter_in_place(q, x, n, 0.0, 0.0); }

void filtfilt(const std::vector<Biquad>& sections, float* x, std::int64_t n, std::int64_t pad) {
    if (n < 2 || sections.empty()) return;
    pad = std::clamp<std::int64_t>(pad, 0, n - 1);
    std::vector<float> ext(static_cast<std::size_t>(n + 2 * pad));
    for (std::int64_t i = 0; i < pad; ++i) {
        ext[static_cast<std::size_t>(i)] = 2 * x[0] - x[pad - i];                   // odd reflection, left
        ext[static_cast<std::size_t>(n + pad + i)] = 2 * x[n - 1] - x[n - 2 - i];   // and right
    }
    std::copy(x, x + n, ext.begin() + pad);
    const auto length = static_cast<std::int64_t>(ext.size());
    for (const Biquad& q : sections) run(q, ext.data(), length);
    std::reverse(ext.begin(), ext.end());
    for (const Biquad& q : sections) run(q, ext.data(), length);
    std::reverse(ext.begin(), ext.end());
    std::copy(ext.begin() + pad, ext.begin() + pad + n, x);
}

void running_median(const float* in, std::int64_t n, std::int64_t width, float* out) {
    const std::int64_t half = width / 2;
    std::vector<float> window;  // sorted values of in[max(0, i-half) .. min(n-1, i+half)]
    window.reserve(static_cast<std::size_t>(width + 1));
    auto insert = [&](float v) { window.insert(std::upper_bound(window.begin(), window.end(), v), v); };
    auto erase = [&](float v) { window.erase(std::lower_bound(window.begin(), window.end(), v)); };
    for (std::int64_t j = 0; j <= std::min(half, n - 1); ++j) insert(in[j]);
    for (std::int64_t i = 0; i < n; ++i) {
        out[i] = window[window.size() / 2];
        if (i + half + 1 < n) insert(in[i + half + 1]);
        if (i - half >= 0) erase(in[i - half]);
    }
}

void remove_median_baseline(float* x, std::int64_t n, std::int64_t first, std::int64_t second) {
    std::vector<float> a(static_cast<std::size_t>(n)), b(static_cast<std::size_t>(n));
    running_median(x, n, first, a.data());
    running_median(a.data(), n, second, b.data());
    for (std::int64_t i = 0; i < n; ++i) x[i] -= b[static_cast<std::size_t>(i)];
}

}  // namespace ecgbench::dsp
