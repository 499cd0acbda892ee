#include "beat_sentence.hpp"

#include "ecgbench/dsp.hpp"

#include <algorithm>

namespace ecgbench::heartlang {

std::vector<Beat> segment_beats(const std::vector<std::int64_t>& r_peaks, std::int64_t samples, std::int64_t window) {
    std::vector<Beat> beats;
    beats.reserve(r_peaks.size());
    const std::int64_t before = window / 2, after = window - before;
    for (std::size_t i = 0; i < r_peaks.size(); ++i) {
        const std::int64_t r = r_peaks[i];
        std::int64_t start = std::max<std::int64_t>(r - before, 0), end = std::min(r + after, samples);
        if (i > 0) start = std::max(start, (r_peaks[i - 1] + r) / 2);
        if (i + 1 < r_peaks.size()) end = std::min(end, (r + r_peaks[i + 1]) / 2);
        beats.push_back({r, start, end});
    }
    return beats;
}

std::vector<Beat> tokenise(const std::vector<const float*>& detection_leads, std::int64_t samples,
                           double sampling_rate_hz, std::int64_t window, std::int64_t max_beats) {
    // Segmented before the cut, so the last kept beat still ends at the midpoint to the next one.
    std::vector<Beat> beats = segment_beats(dsp::detect_qrs(detection_leads, samples, sampling_rate_hz), samples, window);
    if (static_cast<std::int64_t>(beats.size()) > max_beats) beats.resize(static_cast<std::size_t>(max_beats));
    return beats;
}

void beat_window(const float* lead, const Beat& beat, std::int64_t window, float* out) {
    const std::int64_t first = beat.r - window / 2;
    for (std::int64_t j = 0; j < window; ++j) {
        const std::int64_t t = first + j;
        out[j] = t >= beat.start && t < beat.end ? lead[t] : 0.0f;
    }
}

}  // namespace ecgbench::heartlang
