// Shared SSL losses. Per-operator ATen headers keep this TU off the monolithic ATen/Functions.h.
#include "ecgbench/losses.hpp"

#include <ATen/TensorOperators.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/eye.h>

#include <limits>
#include <stdexcept>
#include <string>

namespace ecgbench {

at::Tensor nt_xent_loss(const at::Tensor& z1, const at::Tensor& z2, double temperature) {
    if (!(temperature > 0)) {  // also rejects NaN
        throw std::invalid_argument("nt_xent_loss: temperature must be > 0, got " + std::to_string(temperature));
    }
    if (z1.dim() != 2 || z2.dim() != 2 || z1.sizes() != z2.sizes()) {
        throw std::invalid_argument("nt_xent_loss: z1 and z2 must both be [N, D] with equal shapes");
    }
    const std::int64_t n = z1.size(0);
    if (n < 1) {
        throw std::invalid_argument("nt_xent_loss: needs at least one pair (N >= 1)");
    }

    // Row-wise L2 normalisation; the clamp (as in F.normalize) keeps an all-zero row finite.
    at::Tensor z = at::cat({z1, z2}, 0);
    z = z / z.norm(2, {1}, /*keepdim=*/true).clamp_min(1e-12);

    // Cosine similarities / τ. The diagonal (an anchor with itself) is excluded from the
    // denominator by setting it to −inf, which logsumexp maps to a zero term (and a zero gradient).
    at::Tensor logits = z.matmul(z.t()) / temperature;
    const at::Tensor self = at::eye(2 * n, logits.options().dtype(at::kBool));
    logits = logits.masked_fill(self, -std::numeric_limits<double>::infinity());

    // Positive of anchor i is its other view: i + N for the first half, i − N for the second.
    const at::Tensor index = at::arange(2 * n, logits.options().dtype(at::kLong));
    const at::Tensor positive_index = (index + n).remainder(2 * n);
    const at::Tensor positive = logits.gather(1, positive_index.unsqueeze(1)).squeeze(1);

    // −log softmax at the positive = logsumexp over k ≠ i minus the positive logit (stable form).
    return (logits.logsumexp({1}) - positive).mean();
}

at::Tensor info_nce_loss(const at::Tensor& predictions, const at::Tensor& targets, double temperature) {
    if (!(temperature > 0)) {
        throw std::invalid_argument("info_nce_loss: temperature must be > 0, got " + std::to_string(temperature));
    }
    if ((predictions.dim() != 2 && predictions.dim() != 3) || predictions.sizes() != targets.sizes() ||
        predictions.numel() == 0) {
        throw std::invalid_argument("info_nce_loss: predictions and targets must both be [N, D] or [G, N, D], equal and non-empty");
    }
    // Row i scores prediction i against every target of its set; its positive sits on the diagonal.
    const at::Tensor logits = predictions.matmul(targets.transpose(-2, -1)) / temperature;
    return (logits.logsumexp({-1}) - logits.diagonal(0, -2, -1)).mean();
}

at::Tensor masked_mse_loss(const at::Tensor& prediction, const at::Tensor& target, const at::Tensor& lead_present) {
    if (prediction.dim() != 3 || prediction.sizes() != target.sizes())
        throw std::invalid_argument("masked_mse_loss: prediction and target must both be [B, L, T] with equal shapes");
    const at::Tensor squared = (prediction - target).pow(2);
    if (!lead_present.defined()) return squared.mean();
    if (lead_present.dim() != 2 || lead_present.size(0) != prediction.size(0) || lead_present.size(1) != prediction.size(1))
        throw std::invalid_argument("masked_mse_loss: lead_present must be [B, L] for [B, L, T] signals");
    const at::Tensor weight = lead_present.to(prediction.scalar_type()).unsqueeze(-1);
    return (squared * weight).sum() / (weight.sum() * prediction.size(2)).clamp_min(1.0);
}

}  // namespace ecgbench
