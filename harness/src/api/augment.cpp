// Stochastic ECG augmentations for contrastive views. Every transform is drawn per record (and per
// lead where it says so) with batched tensor ops on the signals' device, from LibTorch's global
// generator, so a seed set by the host reproduces the views on CPU and within one CUDA setup.
// Order: circular shift, gain, baseline wander, noise, time mask, lead dropout; masking comes last
// so masked spans and dropped leads are exactly zero.
#include "ecgbench/augment.hpp"

#include <ATen/TensorOperators.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/rand.h>
#include <ATen/ops/randint.h>
#include <ATen/ops/randn_like.h>

#include <cmath>
#include <limits>
#include <numbers>
#include <stdexcept>
#include <string>

namespace ecgbench {

namespace {

void check_strength(const char* name, double value, double max) {
    if (!std::isfinite(value) || value < 0 || value > max) {
        throw std::invalid_argument(std::string("augment: ") + name + " must be in [0, " + std::to_string(max) +
                                    "], got " + std::to_string(value));
    }
}

}  // namespace

at::Tensor augment(const at::Tensor& signals, const AugmentConfig& config) {
    if (!signals.defined() || signals.dim() != 3 || !signals.is_floating_point()) {
        throw std::invalid_argument("augment: signals must be a floating-point tensor [B, L, T]");
    }
    const double unbounded = std::numeric_limits<double>::max();
    check_strength("amplitude_scale", config.amplitude_scale, unbounded);
    check_strength("gaussian_noise", config.gaussian_noise, unbounded);
    check_strength("baseline_wander", config.baseline_wander, unbounded);
    check_strength("max_shift", config.max_shift, 1.0);
    check_strength("time_mask", config.time_mask, 1.0);
    check_strength("lead_dropout", config.lead_dropout, 1.0);

    // Views are inputs, not part of the graph; every op below is out of place, so `x` never
    // aliases the caller's tensor (the clone makes that true for the all-disabled case too).
    at::Tensor x = signals.detach().clone();
    const std::int64_t batch = x.size(0), leads = x.size(1), length = x.size(2);
    if (x.numel() == 0) {
        return x;
    }
    const auto opts = x.options();
    const auto long_opts = opts.dtype(at::kLong);

    // Relative strengths refer to the record's own scale (population std over leads and time of
    // the unaugmented record), so one config suits mV and standardised data alike.
    at::Tensor record_std;
    if (config.gaussian_noise > 0 || config.baseline_wander > 0) {
        record_std = x.std({1, 2}, /*unbiased=*/false, /*keepdim=*/true);  // [B, 1, 1]
    }

    // Circular shift by k ∈ [−⌊s·T⌋, ⌊s·T⌋] samples per record (all leads together: leads are
    // simultaneous). Implemented as one gather with a per-record index.
    const auto max_shift = static_cast<std::int64_t>(std::floor(config.max_shift * static_cast<double>(length)));
    if (max_shift > 0) {
        const at::Tensor shift = at::randint(-max_shift, max_shift + 1, {batch, 1}, long_opts);
        const at::Tensor source = (at::arange(length, long_opts).unsqueeze(0) - shift).remainder(length);
        x = x.gather(2, source.unsqueeze(1).expand({batch, leads, length}));
    }

    // Per-record, per-lead gain from U(1 − s, 1 + s): electrode contact and body habitus change
    // lead amplitudes independently.
    if (config.amplitude_scale > 0) {
        x = x * (1.0 + config.amplitude_scale * (2.0 * at::rand({batch, leads, 1}, opts) - 1.0));
    }

    // Baseline wander: a sinusoid of 0.5–2 cycles per record (respiration-like drift in a 10 s
    // record) with amplitude s·std, one frequency per record and a random phase per lead.
    if (config.baseline_wander > 0) {
        const at::Tensor cycles = 0.5 + 1.5 * at::rand({batch, 1, 1}, opts);
        const at::Tensor phase = (2.0 * std::numbers::pi) * at::rand({batch, leads, 1}, opts);
        const at::Tensor t = at::arange(length, opts).div(static_cast<double>(length)).view({1, 1, length});
        x = x + config.baseline_wander * record_std * ((2.0 * std::numbers::pi) * cycles * t + phase).sin();
    }

    // Additive white noise with std s·(record std).
    if (config.gaussian_noise > 0) {
        x = x + at::randn_like(x) * (config.gaussian_noise * record_std);
    }

    // One zeroed span per record, on all leads, of 1 … ⌊s·T⌋ samples at a uniform start.
    const auto max_mask = static_cast<std::int64_t>(std::floor(config.time_mask * static_cast<double>(length)));
    if (max_mask > 0) {
        const at::Tensor span = at::randint(1, max_mask + 1, {batch, 1}, long_opts);
        const at::Tensor room = length - span + 1;  // number of valid starts
        const at::Tensor start =
            (at::rand({batch, 1}, opts.dtype(at::kFloat)) * room).floor().to(at::kLong).clamp_max(length - span);
        const at::Tensor t = at::arange(length, long_opts).unsqueeze(0);
        const at::Tensor masked = (t >= start).logical_and(t < start + span);  // [B, T]
        x = x.masked_fill(masked.unsqueeze(1), 0);
    }

    // Each lead of each record zeroed with probability p (rand ∈ [0, 1), so p = 1 drops all).
    if (config.lead_dropout > 0) {
        const at::Tensor dropped = at::rand({batch, leads, 1}, opts) < config.lead_dropout;
        x = x.masked_fill(dropped, 0);
    }
    return x;
}

std::vector<ParamSpec> augmentation_params(const AugmentConfig& defaults) {
    return {
        param::real("amplitude_scale", defaults.amplitude_scale, "per-lead gain drawn from U(1-s, 1+s); 0 disables").between(0, 1),
        param::real("gaussian_noise", defaults.gaussian_noise, "additive noise std relative to the record's std; 0 disables").between(0, 10),
        param::real("baseline_wander", defaults.baseline_wander,
                    "amplitude of a 0.5-2 cycle sinusoid relative to the record's std; 0 disables").between(0, 10),
        param::real("max_shift", defaults.max_shift, "circular time shift up to this fraction of the record; 0 disables").between(0, 1),
        param::real("time_mask", defaults.time_mask, "zero one span of up to this fraction of the record; 0 disables").between(0, 1),
        param::real("lead_dropout", defaults.lead_dropout, "probability that each lead of a view is zeroed; 0 disables").between(0, 1),
    };
}

AugmentConfig augmentation_from(const Params& params) {
    AugmentConfig config;
    config.amplitude_scale = params.get_float("amplitude_scale");
    config.gaussian_noise = params.get_float("gaussian_noise");
    config.baseline_wander = params.get_float("baseline_wander");
    config.max_shift = params.get_float("max_shift");
    config.time_mask = params.get_float("time_mask");
    config.lead_dropout = params.get_float("lead_dropout");
    return config;
}

}  // namespace ecgbench
