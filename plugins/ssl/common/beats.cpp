#include "common/beats.hpp"

#include "ecgbench/dsp.hpp"

#include <torch/types.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace ecgbench::beats {

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

BeatCutter::BeatCutter(const EncoderInput& input, const std::string& detection_lead, double window_ms, std::int64_t max_beats,
                       const std::string& method)
    : leads_(input.leads),
      samples_(input.samples),
      window_(std::max<std::int64_t>(2, std::llround(window_ms * input.sampling_rate_hz / 1000.0))),
      max_beats_(max_beats),
      fs_(input.sampling_rate_hz) {
    if (detection_lead.empty()) return;
    const auto found = std::find(input.lead_names.begin(), input.lead_names.end(), detection_lead);
    if (found == input.lead_names.end())
        throw std::invalid_argument(method + ": param 'detection_lead' names lead '" + detection_lead +
                                    "', which the pretraining data does not have (detection_lead = \"\" "
                                    "detects on every present lead)");
    detection_lead_ = found - input.lead_names.begin();
}

std::vector<Beat> BeatCutter::operator()(const float* signal, const bool* present) const {
    std::vector<const float*> detect;
    if (detection_lead_ >= 0 && present[detection_lead_]) {
        detect.push_back(signal + detection_lead_ * samples_);
    } else {
        for (std::int64_t l = 0; l < leads_; ++l)
            if (present[l]) detect.push_back(signal + l * samples_);
    }
    if (detect.empty()) return {};
    return tokenise(detect, samples_, fs_, window_, max_beats_);
}

TokenLayout describe_tokens(Encoder& encoder, std::int64_t leads, std::int64_t samples, const std::string& method) {
    at::Tensor tokens;
    {
        torch::NoGradGuard no_grad;
        const bool training = encoder.is_training();
        encoder.eval();
        tokens = encoder.encode({torch::zeros({1, leads, samples}, torch::TensorOptions().device(device_of(encoder))), {}, {}}).tokens;
        encoder.train(training);
    }
    if (!tokens.defined() || tokens.dim() != 3 || tokens.size(1) == 0)
        throw std::invalid_argument(method + ": the encoder returns no tokens [B, N, D]; beat embeddings pool them");
    TokenLayout layout{encoder.token_spans(), tokens.size(2)};
    if (layout.spans.empty()) {
        const std::int64_t n = tokens.size(1);
        for (std::int64_t i = 0; i < n; ++i) layout.spans.push_back({-1, i * samples / n, (i + 1) * samples / n - i * samples / n});
    }
    if (static_cast<std::int64_t>(layout.spans.size()) != tokens.size(1))
        throw std::invalid_argument(method + ": the encoder describes " + std::to_string(layout.spans.size()) + " token spans for " +
                                    std::to_string(tokens.size(1)) + " tokens");
    return layout;
}

void beat_token_weights(const Beat& beat, const std::vector<TokenSpan>& spans, const bool* present, float* row) {
    float total = 0;
    for (std::size_t t = 0; t < spans.size(); ++t) {
        row[t] = 0;
        const TokenSpan& span = spans[t];
        if (span.lead >= 0 && !present[span.lead]) continue;
        const std::int64_t overlap = std::min(beat.end, span.start + span.length) - std::max(beat.start, span.start);
        if (overlap <= 0) continue;
        row[t] = static_cast<float>(overlap);
        total += static_cast<float>(overlap);
    }
    if (total > 0)
        for (std::size_t t = 0; t < spans.size(); ++t) row[t] /= total;
}

}  // namespace ecgbench::beats
