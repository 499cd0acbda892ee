#include "shift/shift.hpp"

#include "ecgbench/dsp.hpp"
#include "ecgbench/record_noise.hpp"
#include "ecgbench/synth.hpp"
#include "synth/model.hpp"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <numbers>
#include <numeric>
#include <random>
#include <stdexcept>

namespace ecgbench {
namespace {

/// A long unit-RMS noise recording per source channel, at the data's rate.
using Bank = noise::Bank;

Bank synthetic_bank(const std::string& type, double fs, std::int64_t samples, std::uint64_t seed) {
    const std::int64_t n = std::max<std::int64_t>(1 << 16, 8 * samples);
    std::vector<float> out(static_cast<std::size_t>(n));
    if (type == "gaussian") {
        std::mt19937_64 engine(seed);
        std::normal_distribution<float> normal;
        for (float& v : out) v = normal(engine);
        return {out};
    }
    auto powerline = [&]() {
        // 50 Hz with a third harmonic at a third of its amplitude, where the rate can carry them.
        std::vector<float> mains(static_cast<std::size_t>(n), 0.0f);
        for (double harmonic : {1.0, 3.0}) {
            const double hz = 50 * harmonic;
            if (hz >= 0.5 * fs) continue;
            for (std::int64_t k = 0; k < n; ++k)
                mains[static_cast<std::size_t>(k)] += static_cast<float>(std::sin(2 * std::numbers::pi * hz * static_cast<double>(k) / fs) / harmonic);
        }
        return mains;
    };
    synth::SiteConfig site;
    site.sampling_rate = fs;
    const synth::NoiseBanks banks = synth::make_noise_banks(site, seed, samples);
    if (type == "baseline") out = banks.baseline;
    else if (type == "muscle") out = banks.muscle;
    else if (type == "motion") out = banks.motion;
    else if (type == "powerline") out = powerline();
    else {  // mixed: the four at equal power
        const std::vector<float> mains = powerline();
        const bool has_mains = std::any_of(mains.begin(), mains.end(), [](float v) { return v != 0; });
        const double mains_rms = std::sqrt(0.5 * (1 + 1.0 / 9));
        for (std::size_t k = 0; k < out.size(); ++k)
            out[k] = banks.baseline[k] + banks.muscle[k] + banks.motion[k] + (has_mains ? static_cast<float>(mains[k] / mains_rms) : 0.0f);
    }
    if (std::all_of(out.begin(), out.end(), [](float v) { return v == 0; }))
        throw std::invalid_argument("shift: " + type + " noise does not exist at " + std::to_string(fs) + " Hz (above Nyquist)");
    noise::normalise_rms(out);
    return {out};
}

/// Every lead of `signals` (float [N, L, T], contiguous) through `step`, in parallel.
void for_each_lead(at::Tensor& signals, const std::function<void(float*, std::int64_t)>& step) {
    const std::int64_t rows = signals.size(0) * signals.size(1), samples = signals.size(2);
    float* x = signals.data_ptr<float>();
    at::parallel_for(0, rows, 8, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t k = begin; k < end; ++k) step(x + k * samples, samples);
    });
}

void limit_band(at::Tensor& signals, const ShiftDecl& shift, double fs) {
    std::vector<dsp::Biquad> sections;
    if (shift.highpass_hz > 0) sections.push_back(dsp::butterworth(shift.highpass_hz, fs, true));
    if (shift.lowpass_hz > 0) sections.push_back(dsp::butterworth(shift.lowpass_hz, fs, false));
    // As the pipeline's bandpass step: about one period of the lowest corner padded at both ends.
    const auto pad = static_cast<std::int64_t>(fs / std::max(0.5, shift.highpass_hz));
    for_each_lead(signals, [&](float* x, std::int64_t n) { dsp::filtfilt(sections, x, n, pad); });
}

void resample_round_trip(at::Tensor& signals, const ShiftDecl& shift, double fs) {
    const dsp::Ratio down = dsp::resampling_ratio(fs, shift.resample_hz), up = dsp::resampling_ratio(shift.resample_hz, fs);
    const std::vector<double> down_filter = dsp::resampling_filter(down), up_filter = dsp::resampling_filter(up);
    for_each_lead(signals, [&](float* x, std::int64_t n) {
        std::vector<float> low(static_cast<std::size_t>(dsp::resampled_length(n, down)));
        dsp::resample_poly(x, n, down, down_filter, low.data());
        const auto m = static_cast<std::int64_t>(low.size());
        std::vector<float> back(static_cast<std::size_t>(std::max(n, dsp::resampled_length(m, up))));
        dsp::resample_poly(low.data(), m, up, up_filter, back.data());
        std::copy_n(back.begin(), n, x);  // ceil() lengths: the round trip may run a sample past the record
    });
}

}  // namespace

EcgSplit apply_shift(const EcgSplit& split, const ShiftDecl& shift, const std::vector<std::string>& lead_names,
                     double sampling_rate_hz, std::uint64_t seed) {
    EcgSplit out = split;
    if (!shift.changes_data() || split.size() == 0) return out;
    if (const std::string problem = shift.rate_problem(sampling_rate_hz); !problem.empty())
        throw std::invalid_argument("shift '" + shift.name + "': " + problem);
    out.signals = split.signals.to(at::kFloat).contiguous().clone();
    out.lead_present = split.lead_present.defined() ? split.lead_present.clone()
                                                    : at::ones({split.size(), static_cast<std::int64_t>(lead_names.size())}, at::kBool);
    const std::int64_t n = out.signals.size(0), leads = out.signals.size(1), samples = out.signals.size(2);
    std::mt19937_64 engine(seed);

    if (!shift.noise.empty() || !shift.noise_record.empty()) {
        const Bank bank = shift.noise_record.empty() ? synthetic_bank(shift.noise, sampling_rate_hz, samples, seed)
                                                     : noise::read_record_bank(shift.noise_record, sampling_rate_hz);
        const std::string what = "shift: noise record " + shift.noise_record;
        float* x = out.signals.data_ptr<float>();
        const bool* present = out.lead_present.data_ptr<bool>();
        for (std::int64_t r = 0; r < n; ++r)
            for (std::int64_t l = 0; l < leads; ++l)
                if (present[r * leads + l])
                    noise::add_at_snr(x + (r * leads + l) * samples, samples, bank[static_cast<std::size_t>(l) % bank.size()], shift.snr_db,
                                      engine, what);
    }

    if (shift.highpass_hz > 0 || shift.lowpass_hz > 0) limit_band(out.signals, shift, sampling_rate_hz);
    if (shift.resample_hz > 0) resample_round_trip(out.signals, shift, sampling_rate_hz);

    at::Tensor keep = at::ones({n, leads}, at::kBool);
    if (!shift.leads.empty()) {
        at::Tensor named = at::zeros({leads}, at::kBool);
        for (const auto& lead : shift.leads) {
            const auto it = std::find(lead_names.begin(), lead_names.end(), lead);
            if (it == lead_names.end()) throw std::invalid_argument("shift '" + shift.name + "': the data has no lead '" + lead + "'");
            named[it - lead_names.begin()] = true;
        }
        keep = keep.logical_and(named.unsqueeze(0));
    }
    if (shift.random_leads > 0) {
        if (shift.random_leads > leads)
            throw std::invalid_argument("shift '" + shift.name + "': random_leads " + std::to_string(shift.random_leads) + " > " +
                                        std::to_string(leads) + " leads");
        at::Tensor drawn = at::zeros({n, leads}, at::kBool);
        std::vector<std::int64_t> order(static_cast<std::size_t>(leads));
        for (std::int64_t r = 0; r < n; ++r) {
            std::iota(order.begin(), order.end(), std::int64_t{0});
            for (std::int64_t k = 0; k < shift.random_leads; ++k) {  // partial Fisher–Yates, library-independent
                const auto j = k + static_cast<std::int64_t>(engine() % static_cast<std::uint64_t>(leads - k));
                std::swap(order[static_cast<std::size_t>(k)], order[static_cast<std::size_t>(j)]);
                drawn[r][order[static_cast<std::size_t>(k)]] = true;
            }
        }
        keep = keep.logical_and(drawn);
    }
    out.lead_present = out.lead_present.logical_and(keep);
    out.signals.mul_(out.lead_present.unsqueeze(-1).to(at::kFloat));
    return out;
}

}  // namespace ecgbench
