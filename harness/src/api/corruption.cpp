// Recording noise and lead dropping (see corruption.hpp). The noise types follow the synthetic
// cohort's banks (MIT-BIH Noise Stress Test style) in shape and frequency band; unlike the cohort,
// noise is drawn per lead rather than per electrode.
#include "ecgbench/corruption.hpp"

#include <ATen/ATen.h>

#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>
#include <vector>

namespace ecgbench {

namespace {

constexpr double kTwoPi = 2 * std::numbers::pi;

at::Tensor unit_rms(const at::Tensor& x) { return x / x.pow(2).mean(-1, true).add(1e-12).sqrt(); }

/// Moving average along the last axis over an odd window of about `window` samples.
at::Tensor moving_average(const at::Tensor& x, double window) {
    const std::int64_t w = 2 * std::max<std::int64_t>(0, std::llround(window / 2)) + 1;
    const auto sizes = x.sizes().vec();
    return at::avg_pool1d(x.reshape({-1, 1, x.size(-1)}), {w}, {1}, {w / 2}, false, false).view(sizes);
}

void check_weight(const char* name, double value) {
    if (!std::isfinite(value) || value < 0)
        throw std::invalid_argument(std::string("add_recording_noise: ") + name + " weight must be finite and >= 0, got " +
                                    std::to_string(value));
}

}  // namespace

at::Tensor add_recording_noise(const at::Tensor& signals, const at::Tensor& lead_present, const at::Tensor& snr_db,
                               double sampling_rate_hz, const RecordingNoise& mix) {
    if (!signals.defined() || signals.dim() != 3 || !signals.is_floating_point())
        throw std::invalid_argument("add_recording_noise: signals must be a floating-point tensor [B, L, T]");
    const std::int64_t b = signals.size(0), l = signals.size(1), n = signals.size(2);
    if (!snr_db.defined() || snr_db.sizes() != at::IntArrayRef({b}))
        throw std::invalid_argument("add_recording_noise: snr_db must be [B] = [" + std::to_string(b) + "]");
    if (lead_present.defined() && lead_present.sizes() != at::IntArrayRef({b, l}))
        throw std::invalid_argument("add_recording_noise: lead_present must be [B, L]");
    if (!(sampling_rate_hz > 0)) throw std::invalid_argument("add_recording_noise: sampling rate must be > 0");
    check_weight("baseline", mix.baseline);
    check_weight("muscle", mix.muscle);
    check_weight("motion", mix.motion);
    check_weight("powerline", mix.powerline);
    if (signals.numel() == 0) return signals.clone();

    const double fs = sampling_rate_hz;
    const auto opts = signals.options();
    const at::Tensor t = at::arange(n, opts).div(fs);  // seconds
    auto uniform = [&](std::vector<std::int64_t> shape, double lo, double hi) { return at::rand(shape, opts) * (hi - lo) + lo; };
    at::Tensor noise = at::zeros({b, l, n}, opts);

    if (mix.baseline > 0) {  // respiration and electrode drift below 0.5 Hz
        at::Tensor wander = at::zeros({b, l, n}, opts);
        for (int k = 0; k < 2; ++k)
            wander = wander + uniform({b, l, 1}, 0.5, 1.5) * (kTwoPi * uniform({b, l, 1}, 0.05, 0.5) * t + uniform({b, l, 1}, 0, kTwoPi)).sin();
        noise = noise + std::sqrt(mix.baseline) * unit_rms(wander);
    }
    if (mix.muscle > 0) {  // broadband EMG above ~20 Hz, in bursts
        const at::Tensor white = at::randn({b, l, n}, opts);
        const at::Tensor bursts = 0.3 + (kTwoPi * uniform({b, l, 1}, 0.2, 1.0) * t + uniform({b, l, 1}, 0, kTwoPi)).sin().abs();
        noise = noise + std::sqrt(mix.muscle) * unit_rms((white - moving_average(white, 0.05 * fs)) * bursts);
    }
    if (mix.motion > 0) {  // slow electrode-skin noise and a step-like transient that decays
        const at::Tensor onset = uniform({b, l, 1}, 0, static_cast<double>(n) / fs);
        const at::Tensor tau = uniform({b, l, 1}, 0.05, 0.3);
        const at::Tensor step = at::randn({b, l, 1}, opts) * 4.0 * (-(t - onset).clamp_min(0) / tau).exp() * (t >= onset).to(opts.dtype());
        noise = noise + std::sqrt(mix.motion) * unit_rms(unit_rms(moving_average(at::randn({b, l, n}, opts), fs / 6.0)) + step);
    }
    if (mix.powerline > 0 && mix.powerline_hz < 0.5 * fs) {
        const at::Tensor mains = uniform({b, l, 1}, 0.5, 1.5) * (kTwoPi * mix.powerline_hz * t + uniform({b, 1, 1}, 0, kTwoPi)).sin();
        noise = noise + std::sqrt(mix.powerline) * unit_rms(mains);
    }

    const at::Tensor present = lead_present.defined() ? lead_present.to(signals.device()).to(opts.dtype()).unsqueeze(-1)
                                                      : at::ones({b, l, 1}, opts);
    noise = noise * present;
    const at::Tensor count = (present.sum({1, 2}) * n).clamp_min(1.0);
    const at::Tensor p_signal = ((signals - signals.mean(-1, true)).pow(2) * present).sum({1, 2}) / count;
    const at::Tensor p_noise = noise.pow(2).sum({1, 2}) / count;
    const at::Tensor target = at::pow(10.0, snr_db.to(signals.device()).to(opts.dtype()) / 10.0);
    const at::Tensor scale = at::where(p_noise > 0, (p_signal / (p_noise.clamp_min(1e-30) * target)).sqrt(), at::zeros_like(p_noise));
    return signals + noise * scale.view({b, 1, 1});
}

at::Tensor drop_leads(const at::Tensor& lead_present, double max_drop) {
    if (!lead_present.defined() || lead_present.dim() != 2)
        throw std::invalid_argument("drop_leads: lead_present must be bool [B, L]");
    if (!(max_drop >= 0 && max_drop <= 1))
        throw std::invalid_argument("drop_leads: max_drop must be in [0, 1], got " + std::to_string(max_drop));
    const at::Tensor present = lead_present.to(at::kBool);
    const std::int64_t b = present.size(0), l = present.size(1);
    if (present.numel() == 0) return present.clone();
    const auto opts = present.options().dtype(at::kFloat);
    const at::Tensor draw = at::rand({b, l}, opts);
    const at::Tensor kept = present & (draw >= at::rand({b, 1}, opts) * max_drop);
    // A record left with no lead keeps the present lead with the largest draw.
    const at::Tensor emptied = kept.any(1).logical_not() & present.any(1);
    const at::Tensor rescue = at::one_hot(at::where(present, draw, at::full_like(draw, -1.0)).argmax(1), l).to(at::kBool);
    return kept | (rescue & emptied.unsqueeze(1));
}

}  // namespace ecgbench
