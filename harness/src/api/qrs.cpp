// QRS detection after Pan & Tompkins (1985), "A real-time QRS detection algorithm", IEEE TBME 32(3).
//
// What it follows: band-pass 5-15 Hz, derivative, squaring, 150 ms moving-window integration, and
// the adaptive thresholds on the integrated signal (signal and noise peak levels SPKI / NPKI updated
// with weights 1/8, threshold NPKI + (SPKI - NPKI) / 4), the 200 ms refractory period, the T-wave
// test (a peak within 360 ms of the previous QRS with less than half its slope is noise) and the
// search-back for a missed beat when an RR interval exceeds 166 % of the mean of the last eight.
// What it changes: it runs offline on whole records, so the filters are zero-phase (filtfilt)
// instead of the paper's integer filters with their delays; the energy is summed over every lead
// given (a multi-lead detector); the thresholds are initialised from the first 2 s; and the
// R location is the largest absolute deviation of the 1 Hz high-passed leads (summed) within
// 100 ms of the integrated peak, instead of the paper's fiducial mark.
#include "ecgbench/dsp.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>

namespace ecgbench::dsp {

std::vector<std::int64_t> detect_qrs(const std::vector<const float*>& leads, std::int64_t n, double fs) {
    if (fs < 50) throw std::invalid_argument("detect_qrs: sampling rate " + std::to_string(fs) + " Hz is below 50 Hz");
    std::vector<std::int64_t> beats;
    if (leads.empty() || n < static_cast<std::int64_t>(fs)) return beats;
    const auto ms = [fs](double milliseconds) { return std::max<std::int64_t>(1, std::llround(milliseconds * fs / 1000.0)); };

    // Energy of the QRS band, summed over leads; and the wander-free leads for locating R.
    const std::vector<Biquad> band{butterworth(5.0, fs, true), butterworth(15.0, fs, false)};
    const std::vector<Biquad> wander{butterworth(1.0, fs, true)};
    std::vector<double> energy(static_cast<std::size_t>(n), 0.0), deviation(static_cast<std::size_t>(n), 0.0);
    std::vector<float> y(static_cast<std::size_t>(n));
    for (const float* lead : leads) {
        std::copy(lead, lead + n, y.begin());
        filtfilt(band, y.data(), n, ms(1000));
        for (std::int64_t t = 1; t + 1 < n; ++t) {
            const double slope = (y[static_cast<std::size_t>(t + 1)] - y[static_cast<std::size_t>(t - 1)]) * fs / 2.0;
            energy[static_cast<std::size_t>(t)] += slope * slope;
        }
        std::copy(lead, lead + n, y.begin());
        filtfilt(wander, y.data(), n, ms(1000));
        for (std::int64_t t = 0; t < n; ++t) deviation[static_cast<std::size_t>(t)] += std::abs(y[static_cast<std::size_t>(t)]);
    }
    // Centred moving-window integration (150 ms).
    const std::int64_t half = ms(150) / 2;
    std::vector<double> prefix(static_cast<std::size_t>(n + 1), 0.0), integrated(static_cast<std::size_t>(n));
    for (std::int64_t t = 0; t < n; ++t) prefix[static_cast<std::size_t>(t + 1)] = prefix[static_cast<std::size_t>(t)] + energy[static_cast<std::size_t>(t)];
    for (std::int64_t t = 0; t < n; ++t) {
        const std::int64_t a = std::max<std::int64_t>(0, t - half), b = std::min(n, t + half + 1);
        integrated[static_cast<std::size_t>(t)] = (prefix[static_cast<std::size_t>(b)] - prefix[static_cast<std::size_t>(a)]) / static_cast<double>(2 * half + 1);
    }
    const auto at = [&](std::int64_t t) { return integrated[static_cast<std::size_t>(t)]; };

    // Candidate peaks: local maxima, at least 200 ms apart (the larger wins).
    std::vector<std::int64_t> maxima;
    for (std::int64_t t = 1; t + 1 < n; ++t)
        if (at(t) > at(t - 1) && at(t) >= at(t + 1)) maxima.push_back(t);
    const std::int64_t refractory = ms(200);
    std::vector<std::int64_t> peaks;
    for (std::int64_t t : maxima) {
        if (!peaks.empty() && t - peaks.back() < refractory) {
            if (at(t) > at(peaks.back())) peaks.back() = t;
            continue;
        }
        peaks.push_back(t);
    }

    // Learning phase: the first 2 s set the signal and noise levels.
    const std::int64_t learn = std::min(n, ms(2000));
    double spki = *std::max_element(integrated.begin(), integrated.begin() + learn) / 3.0;
    double npki = std::accumulate(integrated.begin(), integrated.begin() + learn, 0.0) / static_cast<double>(learn) / 2.0;
    std::vector<std::int64_t> qrs;        // integrated-signal peaks classified as QRS
    std::vector<std::int64_t> noise;      // the others since the last QRS, for the search-back
    std::vector<std::int64_t> recent_rr;  // last eight RR intervals
    auto mean_rr = [&] {
        return recent_rr.empty() ? 0.0 : std::accumulate(recent_rr.begin(), recent_rr.end(), 0.0) / static_cast<double>(recent_rr.size());
    };
    auto accept = [&](std::int64_t t) {
        if (!qrs.empty()) {
            recent_rr.push_back(t - qrs.back());
            if (recent_rr.size() > 8) recent_rr.erase(recent_rr.begin());
        }
        qrs.push_back(t);
        noise.clear();
    };
    // Largest slope of the band energy within 75 ms of an integrated peak (for the T-wave test).
    auto slope_near = [&](std::int64_t t) {
        double best = 0;
        for (std::int64_t k = std::max<std::int64_t>(0, t - ms(75)); k < std::min(n, t + ms(75)); ++k)
            best = std::max(best, energy[static_cast<std::size_t>(k)]);
        return best;
    };
    for (std::int64_t t : peaks) {
        const double threshold = npki + 0.25 * (spki - npki);
        const double value = at(t);
        bool is_qrs = value > threshold;
        if (is_qrs && !qrs.empty() && t - qrs.back() < ms(360) && slope_near(t) < 0.5 * slope_near(qrs.back())) is_qrs = false;
        if (!is_qrs) {
            npki = 0.125 * value + 0.875 * npki;
            noise.push_back(t);
            continue;
        }
        // Search back: a gap over 166 % of the mean RR hides a beat below the threshold.
        if (!qrs.empty() && recent_rr.size() >= 2 && static_cast<double>(t - qrs.back()) > 1.66 * mean_rr()) {
            std::int64_t best = -1;
            for (std::int64_t c : noise)
                if (c - qrs.back() >= refractory && t - c >= refractory && at(c) > 0.5 * threshold && (best < 0 || at(c) > at(best))) best = c;
            if (best >= 0) {
                spki = 0.25 * at(best) + 0.75 * spki;
                accept(best);
            }
        }
        spki = 0.125 * value + 0.875 * spki;
        accept(t);
    }

    // R: the largest summed deviation from baseline within 100 ms.
    for (std::int64_t t : qrs) {
        const std::int64_t a = std::max<std::int64_t>(0, t - ms(100)), b = std::min(n, t + ms(100) + 1);
        const auto it = std::max_element(deviation.begin() + a, deviation.begin() + b);
        const std::int64_t r = a + (it - (deviation.begin() + a));
        if (beats.empty() || r - beats.back() >= refractory) beats.push_back(r);
    }
    return beats;
}

}  // namespace ecgbench::dsp
