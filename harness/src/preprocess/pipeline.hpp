// The preprocessing pipeline a [[dataset]] declares (`preprocess = [{ step = "resample", hz = 100 }, ...]`):
// an ordered list of steps applied by the runner to every split a dataset plugin returns, so every
// plugin gets the same, recorded processing. Steps and their parameters:
//   resample    hz                   polyphase, anti-aliasing Kaiser FIR (as scipy.signal.resample_poly)
//   bandpass    low_hz, high_hz      zero-phase 2nd-order Butterworth high- and/or low-pass (0 = off)
//   notch       hz, q                zero-phase IIR notch (powerline)
//   baseline    first_ms, second_ms  two running medians (200 then 600 ms, de Chazal 2004) subtracted
//   standardise                      per record and lead: zero mean, unit SD (absent leads stay 0)
//   window      seconds, stride_s    fixed-length windows; a record becomes several ("<id>@<start>")
//   beats       before_ms, after_ms  one window per detected beat (multi-lead Pan-Tompkins, dsp::detect_qrs)
//                                    that fits in the record ("<id>@r<sample>"), plus covariates
//                                    rr_prev_ms / rr_next_ms (NaN at a record's first / last beat)
// window and beats write only the windows (memory O(outputs x window length), never a copy of the
// whole record per output), so whole Holter-length records cut with bounded memory.
// Lead selection and canonical naming are the dataset's `leads` key.
#pragma once

#include "ecgbench/dataset.hpp"
#include "preprocess/step.hpp"

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ecgbench {

class Pipeline {
public:
    Pipeline() = default;
    explicit Pipeline(std::vector<PreprocessStep> steps) : steps_(std::move(steps)) {}

    bool empty() const { return steps_.empty(); }
    /// Sampling rate and samples per record after the pipeline, for input (fs, samples). Throws
    /// std::invalid_argument naming the step when it cannot apply (a corner at or above Nyquist, a
    /// window longer than the record, an unsupported resampling ratio).
    std::pair<double, std::int64_t> output_format(double fs, std::int64_t samples) const;
    /// The steps with every parameter, as JSON (part of the cells' identity through canonical_json).
    nlohmann::json json() const;
    /// One line for DatasetInfo::preprocessing, e.g. "resample 100 Hz; bandpass 0.5-40 Hz".
    std::string describe() const;
    /// The split after every step (the input is not modified). `fs` is the input rate.
    EcgSplit apply(const EcgSplit& split, double fs) const;

private:
    std::vector<PreprocessStep> steps_;
};

}  // namespace ecgbench
