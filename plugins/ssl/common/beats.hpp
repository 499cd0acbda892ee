// Heartbeats of a record and the encoder tokens each one reads, shared by the beat-level SSL
// methods (heartlang, melp). HeartLang's QRS tokenisation (Jin et al. 2025, "Reading Your Heart"):
// R peaks come from the core QRS detector (ecgbench/dsp.hpp) run on one lead (lead I in HeartLang's
// fixed QRSTokenizer, their issue #2: one set of beat centres for every lead); each beat reads the
// samples between the midpoints to its neighbouring R peaks, at most half a window either side of
// its own R peak, and its word is that segment placed in a fixed window centred on R (zero outside
// the segment), as HeartLang's extract_qrs_segments. A beat's embedding pools the encoder tokens
// that read its samples, weighted by how many of them each reads.
#pragma once

#include "ecgbench/encoder.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace ecgbench::beats {

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

/// The beats of the records of one pretraining input: tokenise() on the detection lead, or on every
/// present lead when it is "" or absent from a record.
class BeatCutter {
public:
    /// `detection_lead` must be one of input.lead_names (or ""): std::invalid_argument naming
    /// `method`'s param 'detection_lead' otherwise. The window is `window_ms` in samples (at least 2).
    BeatCutter(const EncoderInput& input, const std::string& detection_lead, double window_ms, std::int64_t max_beats,
               const std::string& method);
    /// Beats of one record: `signal` [leads, samples] contiguous, `present` [leads].
    std::vector<Beat> operator()(const float* signal, const bool* present) const;
    std::int64_t window() const { return window_; }

private:
    std::int64_t leads_, samples_, window_, max_beats_, detection_lead_ = -1;
    double fs_;
};

/// What an encoder's tokens read: its token_spans(), or, for encoders that do not describe them
/// (strided CNNs), equal consecutive shares of the record in every lead; and the token width. Found
/// by one forward of a zero record [1, leads, samples] in eval mode (running statistics untouched).
/// std::invalid_argument naming `method` when the encoder returns no tokens [B, N, D] or describes
/// another number of spans.
struct TokenLayout {
    std::vector<TokenSpan> spans;
    std::int64_t width = 0;
};
TokenLayout describe_tokens(Encoder& encoder, std::int64_t leads, std::int64_t samples, const std::string& method);

/// The pooling weights of one beat over the tokens: row[t] = samples of [start, end) that token t
/// reads / the sum over tokens (tokens of leads absent in `present` weigh 0); all 0 when no token
/// reads the beat. `row` has spans.size() floats, written in full.
void beat_token_weights(const Beat& beat, const std::vector<TokenSpan>& spans, const bool* present, float* row);

}  // namespace ecgbench::beats
