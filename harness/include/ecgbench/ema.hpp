// Exponential moving average of weights: target ← τ·target + (1 − τ)·online, tensor by tensor, in
// place and without autograd. The training engine's weight EMA (TrainOptions::ema_decay) and the
// SSL methods' EMA target networks (byol, jepa) share it.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/GradMode.h>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace ecgbench {

/// Moves each `target[i]` towards `online[i]` by 1 − `tau`. Throws std::logic_error naming `who`
/// when the two lists differ in length (the networks differ in shape).
inline void ema_update(const std::vector<at::Tensor>& online, const std::vector<at::Tensor>& target, double tau, const std::string& who) {
    if (online.size() != target.size()) throw std::logic_error(who + ": target and online networks differ in shape");
    const c10::NoGradGuard no_grad;
    for (std::size_t i = 0; i < target.size(); ++i) {
        at::Tensor t = target[i];  // shares storage: updated in place
        t.mul_(tau).add_(online[i].detach(), 1 - tau);
    }
}

}  // namespace ecgbench
