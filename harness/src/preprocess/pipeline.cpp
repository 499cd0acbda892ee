#include "preprocess/pipeline.hpp"

#include "ecgbench/dsp.hpp"
#include "util/json.hpp"
#include "util/text.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <stdexcept>

namespace ecgbench {
namespace {

ParamSpec real(const char* name, double value, const char* doc, double lo, double hi) {
    return {name, ParamType::Float, value, doc, lo, hi, {}};
}

const std::map<std::string, std::vector<ParamSpec>>& schemas() {
    static const std::map<std::string, std::vector<ParamSpec>> all{
        {"resample", {real("hz", 100.0, "target sampling rate", 1, 100000)}},
        {"bandpass",
         {real("low_hz", 0.5, "high-pass corner (0 = none)", 0, 100000),
          real("high_hz", 40.0, "low-pass corner (0 = none)", 0, 100000)}},
        {"notch", {real("hz", 50.0, "notch frequency (powerline)", 1, 100000), real("q", 30.0, "quality factor", 1, 1000)}},
        {"baseline",
         {real("first_ms", 200.0, "first running-median window", 1, 10000),
          real("second_ms", 600.0, "second running-median window", 1, 10000)}},
        {"standardise", {}},
        {"window",
         {real("seconds", 2.5, "window length", 0.01, 100000),
          real("stride_s", 0.0, "step between window starts (0 = the window length)", 0, 100000)}},
        {"beats",
         {real("before_ms", 250.0, "window start before the R peak", 0, 10000),
          real("after_ms", 450.0, "window end after the R peak", 1, 10000)}},
    };
    return all;
}

std::string number(double v) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%g", v);
    return buffer;
}

std::int64_t beat_offset(const Params& p, double fs) { return std::llround(p.get_float("before_ms") * fs / 1000.0); }
std::int64_t beat_length(const Params& p, double fs) {
    return beat_offset(p, fs) + std::max<std::int64_t>(1, std::llround(p.get_float("after_ms") * fs / 1000.0));
}

/// Odd window of `ms` at `fs`, at least 1 sample.
std::int64_t odd_samples(double ms, double fs) {
    const auto n = static_cast<std::int64_t>(std::llround(ms * fs / 1000.0));
    return std::max<std::int64_t>(1, n | 1);
}

/// Runs `fn(lead_samples, length)` on every present lead of every record, records in parallel.
template <typename Fn>
void for_each_lead(EcgSplit& s, Fn fn) {
    const std::int64_t n = s.signals.size(0), leads = s.signals.size(1), T = s.signals.size(2);
    float* data = s.signals.data_ptr<float>();
    const at::Tensor present = s.lead_present.to(at::kBool).contiguous();
    const bool* on = present.data_ptr<bool>();
    at::parallel_for(0, n, 8, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t r = begin; r < end; ++r)
            for (std::int64_t l = 0; l < leads; ++l)
                if (on[r * leads + l]) fn(data + (r * leads + l) * T, T);
    });
}

struct Format {
    double fs;
    std::int64_t samples;
};

/// Output format of one step, or std::invalid_argument saying why it cannot apply.
Format step_format(const PreprocessStep& step, Format in) {
    const Params& p = step.params;
    const double nyquist = in.fs / 2;
    auto below_nyquist = [&](const char* key) {
        const double hz = p.get_float(key);
        if (hz > 0 && hz >= nyquist)
            throw std::invalid_argument("preprocess step '" + step.step + "': " + key + " = " + number(hz) +
                                        " Hz is not below the Nyquist frequency (" + number(nyquist) + " Hz)");
    };
    if (step.step == "resample") {
        const dsp::Ratio ratio = dsp::resampling_ratio(in.fs, p.get_float("hz"));
        return {p.get_float("hz"), dsp::resampled_length(in.samples, ratio)};
    }
    if (step.step == "bandpass") {
        below_nyquist("low_hz");
        below_nyquist("high_hz");
        if (p.get_float("high_hz") > 0 && p.get_float("low_hz") >= p.get_float("high_hz"))
            throw std::invalid_argument("preprocess step 'bandpass': low_hz must be below high_hz");
    }
    if (step.step == "notch") below_nyquist("hz");
    if (step.step == "beats") {
        if (in.fs < 50)
            throw std::invalid_argument("preprocess step 'beats': the QRS detector needs at least 50 Hz, records are at " +
                                        number(in.fs) + " Hz");
        const std::int64_t length = beat_length(p, in.fs);
        if (length > in.samples)
            throw std::invalid_argument("preprocess step 'beats': a " + std::to_string(length) + "-sample beat window is longer than the " +
                                        std::to_string(in.samples) + "-sample records");
        return {in.fs, length};
    }
    if (step.step == "window") {
        const auto length = static_cast<std::int64_t>(std::llround(p.get_float("seconds") * in.fs));
        if (length < 1 || length > in.samples)
            throw std::invalid_argument("preprocess step 'window': " + number(p.get_float("seconds")) + " s is " +
                                        std::to_string(length) + " samples, records have " + std::to_string(in.samples));
        return {in.fs, length};
    }
    return in;
}

EcgSplit resample(const EcgSplit& in, double fs, double hz) {
    const dsp::Ratio ratio = dsp::resampling_ratio(fs, hz);
    const std::vector<double> filter = dsp::resampling_filter(ratio);
    const at::Tensor src = in.signals.contiguous();
    const std::int64_t n = src.size(0), leads = src.size(1), T = src.size(2), T2 = dsp::resampled_length(T, ratio);
    EcgSplit out = in;
    out.signals = at::zeros({n, leads, T2}, at::kFloat);
    const float* from = src.data_ptr<float>();
    float* to = out.signals.data_ptr<float>();
    at::parallel_for(0, n * leads, 8, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t k = begin; k < end; ++k) dsp::resample_poly(from + k * T, T, ratio, filter, to + k * T2);
    });
    return out;
}

/// The per-record fields of `in` (labels, subjects, lead flags, covariates, texts, ids) for output
/// rows taken from input records `rows`; no signals. subset() of the whole split would first copy
/// every full-length record once per output row: O(outputs x record length), 128 GB for the beats
/// of 22 half-hour MIT-BIH records.
EcgSplit repeat_records(const EcgSplit& in, const std::vector<std::int64_t>& rows) {
    EcgSplit fields = in;
    fields.signals = at::Tensor();
    const at::Tensor index = at::tensor(rows, at::kLong).reshape({static_cast<std::int64_t>(rows.size())});
    EcgSplit out = subset(fields, index);
    // Which input record each output row was cut from (the runner adds the chunk's offset), so
    // methods can group the windows of one record (CMSC); cut again, rows keep their first source.
    if (!in.source_records.defined()) out.source_records = index;
    return out;
}

/// Windows of `seconds` every `stride_s` (0: back to back), a record's windows adjacent; ids
/// "<id>@<start>". Only the windows are written: O(outputs x window length).
EcgSplit cut_windows(const EcgSplit& in, double fs, double seconds, double stride_s) {
    const std::int64_t n = in.size(), leads = in.signals.size(1), T = in.signals.size(2), length = std::llround(seconds * fs);
    const std::int64_t stride = stride_s > 0 ? std::max<std::int64_t>(1, std::llround(stride_s * fs)) : length;
    std::vector<std::int64_t> starts;
    for (std::int64_t s = 0; s + length <= T; s += stride) starts.push_back(s);
    const auto per_record = static_cast<std::int64_t>(starts.size());
    std::vector<std::int64_t> rows;
    for (std::int64_t r = 0; r < n; ++r)
        for (std::int64_t w = 0; w < per_record; ++w) rows.push_back(r);
    EcgSplit out = repeat_records(in, rows);
    const float* data = in.signals.data_ptr<float>();  // apply() made it contiguous float
    out.signals = at::empty({n * per_record, leads, length}, at::kFloat);
    float* to = out.signals.data_ptr<float>();
    at::parallel_for(0, n, 8, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t r = begin; r < end; ++r)
            for (std::int64_t w = 0; w < per_record; ++w)
                for (std::int64_t l = 0; l < leads; ++l)
                    std::copy_n(data + (r * leads + l) * T + starts[static_cast<std::size_t>(w)], length,
                                to + ((r * per_record + w) * leads + l) * length);
    });
    for (std::size_t i = 0; i < out.record_ids.size(); ++i)
        out.record_ids[i] += "@" + std::to_string(starts[i % starts.size()]);
    return out;
}

/// One window per detected beat that fits in its record, starting `offset` samples before the R
/// peak; ids "<id>@r<sample>", RR intervals to the neighbouring detected beats as covariates.
/// Only the windows are written: O(beats x window length), plus the detector's buffers per record.
EcgSplit cut_beats(const EcgSplit& in, double fs, std::int64_t offset, std::int64_t length) {
    const std::int64_t n = in.size(), leads = in.signals.size(1), T = in.signals.size(2);
    const float* data = in.signals.data_ptr<float>();  // apply() made it contiguous float
    const at::Tensor present = in.lead_present.to(at::kBool).contiguous();
    const bool* on = present.data_ptr<bool>();
    struct Beat {
        std::int64_t r;
        float rr_prev_ms, rr_next_ms;
    };
    std::vector<std::vector<Beat>> beats(static_cast<std::size_t>(n));
    at::parallel_for(0, n, 4, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t i = begin; i < end; ++i) {
            std::vector<const float*> used;
            for (std::int64_t l = 0; l < leads; ++l)
                if (on[i * leads + l]) used.push_back(data + (i * leads + l) * T);
            const std::vector<std::int64_t> peaks = dsp::detect_qrs(used, T, fs);
            const auto ms = [fs](std::int64_t samples) { return static_cast<float>(static_cast<double>(samples) * 1000.0 / fs); };
            for (std::size_t k = 0; k < peaks.size(); ++k) {
                const std::int64_t start = peaks[k] - offset;
                if (start < 0 || start + length > T) continue;
                beats[static_cast<std::size_t>(i)].push_back({peaks[k], k > 0 ? ms(peaks[k] - peaks[k - 1]) : NAN,
                                                              k + 1 < peaks.size() ? ms(peaks[k + 1] - peaks[k]) : NAN});
            }
        }
    });
    std::vector<std::int64_t> rows;
    std::vector<float> rr_prev, rr_next;
    for (std::int64_t i = 0; i < n; ++i)
        for (const Beat& b : beats[static_cast<std::size_t>(i)]) {
            rows.push_back(i);
            rr_prev.push_back(b.rr_prev_ms);
            rr_next.push_back(b.rr_next_ms);
        }
    EcgSplit out = repeat_records(in, rows);
    const auto m = static_cast<std::int64_t>(rows.size());
    out.signals = at::empty({m, leads, length}, at::kFloat);
    float* to = out.signals.data_ptr<float>();
    std::size_t k = 0;
    for (std::int64_t i = 0; i < n; ++i)
        for (const Beat& b : beats[static_cast<std::size_t>(i)]) {
            for (std::int64_t l = 0; l < leads; ++l)
                std::copy_n(data + (i * leads + l) * T + b.r - offset, length, to + (static_cast<std::int64_t>(k) * leads + l) * length);
            if (k < out.record_ids.size()) out.record_ids[k] += "@r" + std::to_string(b.r);
            ++k;
        }
    out.covariates["rr_prev_ms"] = at::tensor(rr_prev, at::kFloat).reshape({m});
    out.covariates["rr_next_ms"] = at::tensor(rr_next, at::kFloat).reshape({m});
    return out;
}

}  // namespace

const std::vector<std::string>& preprocess_step_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> out;
        for (const auto& [name, specs] : schemas()) out.push_back(name);
        return out;
    }();
    return names;
}

const std::vector<ParamSpec>& preprocess_step_schema(const std::string& step) {
    const auto it = schemas().find(step);
    if (it == schemas().end())
        throw std::invalid_argument("unknown preprocess step '" + step + "'" + did_you_mean(step, preprocess_step_names()) +
                                    " (steps: " + join(preprocess_step_names(), ", ") + ")");
    return it->second;
}

std::pair<double, std::int64_t> Pipeline::output_format(double fs, std::int64_t samples) const {
    Format f{fs, samples};
    for (const PreprocessStep& step : steps_) f = step_format(step, f);
    return {f.fs, f.samples};
}

Json Pipeline::json() const {
    Json steps = Json::array();
    for (const PreprocessStep& s : steps_) steps.push_back({{"step", s.step}, {"params", json_params(s.params)}});
    return steps;
}

std::string Pipeline::describe() const {
    std::string out;
    for (const PreprocessStep& s : steps_) {
        const Params& p = s.params;
        std::string text = s.step;
        if (s.step == "resample") text += " to " + number(p.get_float("hz")) + " Hz (polyphase, Kaiser FIR)";
        if (s.step == "bandpass")
            text += " " + number(p.get_float("low_hz")) + "-" + number(p.get_float("high_hz")) + " Hz (zero-phase Butterworth)";
        if (s.step == "notch") text += " " + number(p.get_float("hz")) + " Hz, Q " + number(p.get_float("q")) + " (zero-phase)";
        if (s.step == "baseline")
            text += " (running medians " + number(p.get_float("first_ms")) + " + " + number(p.get_float("second_ms")) + " ms)";
        if (s.step == "standardise") text += " (per record and lead)";
        if (s.step == "beats")
            text += " (Pan-Tompkins R peaks, " + number(p.get_float("before_ms")) + " ms before to " +
                    number(p.get_float("after_ms")) + " ms after; RR covariates)";
        if (s.step == "window")
            text += " " + number(p.get_float("seconds")) + " s, stride " +
                    number(p.get_float("stride_s") > 0 ? p.get_float("stride_s") : p.get_float("seconds")) + " s";
        out += (out.empty() ? "" : "; ") + text;
    }
    return out;
}

EcgSplit Pipeline::apply(const EcgSplit& split, double fs) const {
    EcgSplit s = split;
    s.signals = split.signals.to(at::kFloat).contiguous().clone();
    for (const PreprocessStep& step : steps_) {
        const Params& p = step.params;
        if (step.step == "resample") {
            s = resample(s, fs, p.get_float("hz"));
        } else if (step.step == "bandpass") {
            std::vector<dsp::Biquad> sections;
            if (p.get_float("low_hz") > 0) sections.push_back(dsp::butterworth(p.get_float("low_hz"), fs, true));
            if (p.get_float("high_hz") > 0) sections.push_back(dsp::butterworth(p.get_float("high_hz"), fs, false));
            // Pad about one period of the lowest corner so edge transients stay outside the record.
            const auto pad = static_cast<std::int64_t>(fs / std::max(0.5, p.get_float("low_hz")));
            for_each_lead(s, [&](float* x, std::int64_t T) { dsp::filtfilt(sections, x, T, pad); });
        } else if (step.step == "notch") {
            const std::vector<dsp::Biquad> sections{dsp::notch(p.get_float("hz"), p.get_float("q"), fs)};
            const auto pad = static_cast<std::int64_t>(fs / 2);
            for_each_lead(s, [&](float* x, std::int64_t T) { dsp::filtfilt(sections, x, T, pad); });
        } else if (step.step == "baseline") {
            const std::int64_t first = odd_samples(p.get_float("first_ms"), fs), second = odd_samples(p.get_float("second_ms"), fs);
            for_each_lead(s, [&](float* x, std::int64_t T) { dsp::remove_median_baseline(x, T, first, second); });
        } else if (step.step == "standardise") {
            for_each_lead(s, [](float* x, std::int64_t T) {
                double sum = 0, sq = 0;
                for (std::int64_t i = 0; i < T; ++i) sum += x[i];
                const double mean = sum / static_cast<double>(T);
                for (std::int64_t i = 0; i < T; ++i) sq += (x[i] - mean) * (x[i] - mean);
                const double sd = std::sqrt(sq / static_cast<double>(T));
                const double scale = sd > 1e-6 ? 1.0 / sd : 1.0;  // a flat lead stays flat
                for (std::int64_t i = 0; i < T; ++i) x[i] = static_cast<float>((x[i] - mean) * scale);
            });
        } else if (step.step == "window") {
            s = cut_windows(s, fs, p.get_float("seconds"), p.get_float("stride_s"));
        } else if (step.step == "beats") {
            s = cut_beats(s, fs, beat_offset(p, fs), beat_length(p, fs));
        }
        fs = step_format(step, {fs, s.signals.size(2)}).fs;
    }
    return s;
}

}  // namespace ecgbench
