// ECG augmentations for contrastive views. Batched, on the batch's device, drawing from LibTorch's
// global generator (seeded per cell by the host) so a seed reproduces the views.
#pragma once

#include "ecgbench/params.hpp"

#include <ATen/core/Tensor.h>

#include <vector>

namespace ecgbench {

/// Strengths of the stochastic transforms; 0 disables one.
struct AugmentConfig {
    double amplitude_scale = 0.2;   ///< per-record, per-lead gain drawn from U(1−s, 1+s)
    double gaussian_noise = 0.05;   ///< additive noise std, relative to each record's std
    double baseline_wander = 0.1;   ///< amplitude (relative) of a random low-frequency sinusoid
    double max_shift = 0.1;         ///< circular time shift up to this fraction of the length
    double time_mask = 0.1;         ///< zeroes one random span of up to this fraction of the length
    double lead_dropout = 0.0;      ///< probability that each lead is zeroed
};

/// The six strengths as a reusable parameter group (names as the AugmentConfig fields, defaults
/// from `defaults`, bounds and docs): a method adds them to its manifest with `params + augmentation_params()`.
std::vector<ParamSpec> augmentation_params(const AugmentConfig& defaults = {});
/// Reads the group back from validated params.
AugmentConfig augmentation_from(const Params& params);

/// Returns an augmented copy of signals float [B, L, T]; the input is not modified.
at::Tensor augment(const at::Tensor& signals, const AugmentConfig& config);

}  // namespace ecgbench
