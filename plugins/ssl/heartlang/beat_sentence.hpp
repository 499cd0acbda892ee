// HeartLang's QRS tokenisation (Jin et al. 2025, "Reading Your Heart"): a record becomes a
// "sentence" of heartbeat "words". R peaks come from the core QRS detector run on one lead (lead I
// in HeartLang's fixed QRSTokenizer, their issue #2: one set of beat centres for every lead); each
// beat reads the samples between the midpoints to its neighbouring R peaks, at most half a window
// either side of its own R peak, and its word is that segment placed in a fixed window centred on R
// (zero outside the segment), as HeartLang's extract_qrs_segments.
#pragma once

#include <cstdint>
#include <vector>

namespace ecgbench::heartlang {

/// One heartbeat of a record.
struct Beat {
    std::int64_t r = 0;      ///< R-peak sample
    std::int64_t start = 0;  ///< first sample the beat reads
    std::int64_t end = 0;    ///< one past its last sample
};

/// Segments of R peaks `r_peaks` (ascending) in a record of `samples` samples with windows of
/// `window` samples: beat i reads [max(mid(r_{i−1}, r_i), r_i − ⌊window/2⌋, 0),
/// min(mid(r_i, r_{i+1}), r_i − ⌊window/2⌋ + window, samples)), mid(a, b) = ⌊(a + b) / 2⌋; the first
/// and last beats are bounded by the window (and the record) alone.
std::vector<Beat> segment_beats(const std::vector<std::int64_t>& r_peaks, std::int64_t samples, std::int64_t window);

/// The beats of one record: R peaks by dsp::detect_qrs (ecgbench/dsp.hpp) on `detection_leads`
/// (each `samples` samples at `sampling_rate_hz`), segment_beats, the first `max_beats` kept.
std::vector<Beat> tokenise(const std::vector<const float*>& detection_leads, std::int64_t samples,
                           double sampling_rate_hz, std::int64_t window, std::int64_t max_beats);

/// A beat's word in one lead: out[j] = lead[r − ⌊window/2⌋ + j] where that sample lies in
/// [start, end), 0 elsewhere; `out` has `window` floats.
void beat_window(const float* lead, const Beat& beat, std::int64_t window, float* out);

}  // namespace ecgbench::heartlang
