// Shared SSL losses. Per-operator ATen headers keep this TU off the monolithic ATen/Functions.h.
#include "ecgbench/losses.hpp"

#include <ATen/TensorOperators.h>
#include <ATen/ops/arange.h>
#include <ATen/ops/cat.h>
#include <ATen/ops/eye.h>
#include <ATen/ops/ones.h>
#include <ATen/ops/where.h>

#include <limits>
#include <stdexcept>
#include <string>

namespace ecgbench {

namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

void check_temperature(const char* loss, double temperature) {
    if (!(temperature > 0)) {  // also rejects NaN
        throw std::invalid_argument(std::string(loss) + ": temperature must be > 0, got " + std::to_string(temperature));
    }
}

// Row-wise L2 normalisation; the clamp (as in F.normalize) keeps an all-zero row finite.
at::Tensor unit_rows(const at::Tensor& z) { return z / z.norm(2, {1}, /*keepdim=*/true).clamp_min(1e-12); }

// Cosine similarities / τ with the diagonal (an anchor with itself) at −inf, which logsumexp maps
// to a zero term (and a zero gradient).
at::Tensor masked_logits(const at::Tensor& z, double temperature) {
    const at::Tensor unit = unit_rows(z);
    const at::Tensor logits = unit.matmul(unit.t()) / temperature;
    return logits.masked_fill(at::eye(z.size(0), logits.options().dtype(at::kBool)), -kInfinity);
}

// NT-Xent over [z1; z2]; `log_weights` ([2N, 2N], optional) are added to the logits of the
// denominator only, so the positive's own logit is the same with and without weights.
at::Tensor pair_contrastive(const char* loss, const at::Tensor& z1, const at::Tensor& z2, double temperature,
                            const at::Tensor& log_weights) {
    check_temperature(loss, temperature);
    if (z1.dim() != 2 || z2.dim() != 2 || z1.sizes() != z2.sizes()) {
        throw std::invalid_argument(std::string(loss) + ": z1 and z2 must both be [N, D] with equal shapes");
    }
    const std::int64_t n = z1.size(0);
    if (n < 1) throw std::invalid_argument(std::string(loss) + ": needs at least one pair (N >= 1)");

    at::Tensor logits = masked_logits(at::cat({z1, z2}, 0), temperature);
    // Positive of anchor i is its other view: i + N for the first half, i − N for the second.
    const at::Tensor index = at::arange(2 * n, logits.options().dtype(at::kLong));
    const at::Tensor positive = logits.gather(1, (index + n).remainder(2 * n).unsqueeze(1)).squeeze(1);
    if (log_weights.defined()) logits = logits + log_weights;
    // −log softmax at the positive = logsumexp over k ≠ i minus the positive logit (stable form).
    return (logits.logsumexp({1}) - positive).mean();
}

}  // namespace

at::Tensor nt_xent_loss(const at::Tensor& z1, const at::Tensor& z2, double temperature) {
    return pair_contrastive("nt_xent_loss", z1, z2, temperature, {});
}

at::Tensor weighted_nt_xent_loss(const at::Tensor& z1, const at::Tensor& z2, double temperature,
                                 const at::Tensor& negative_weights) {
    const std::int64_t n = z1.dim() == 2 ? z1.size(0) : -1;
    if (!negative_weights.defined() || negative_weights.dim() != 2 || negative_weights.size(0) != n ||
        negative_weights.size(1) != n) {
        throw std::invalid_argument("weighted_nt_xent_loss: negative_weights must be [N, N] for N = rows of z1");
    }
    const at::Tensor w = negative_weights.detach().to(z1.scalar_type());
    if (!(w.isfinite().all().item<bool>() && (w >= 0).all().item<bool>())) {
        throw std::invalid_argument("weighted_nt_xent_loss: negative_weights must be finite and >= 0");
    }
    // The diagonal lands on each anchor's positive (and its masked self): weight 1, log 0.
    const at::Tensor log_weights = w.clone().fill_diagonal_(1).repeat({2, 2}).log();
    return pair_contrastive("weighted_nt_xent_loss", z1, z2, temperature, log_weights);
}

at::Tensor clip_loss(const at::Tensor& x, const at::Tensor& y, double temperature) {
    check_temperature("clip_loss", temperature);
    if (x.dim() != 2 || x.sizes() != y.sizes() || x.size(0) < 1)
        throw std::invalid_argument("clip_loss: x and y must both be [N, D] with equal shapes, N >= 1");
    const at::Tensor logits = unit_rows(x).matmul(unit_rows(y).t()) / temperature;
    const at::Tensor matched = logits.diagonal();
    // −log softmax at the diagonal, along rows (x → y) and along columns (y → x).
    return (logits.logsumexp({1}) - matched).mean() + (logits.logsumexp({0}) - matched).mean();
}

at::Tensor risk_difference_weights(const at::Tensor& risk, RiskWeighting weighting, double scale, double temperature,
                                   double min_weight) {
    if (risk.dim() != 1) throw std::invalid_argument("risk_difference_weights: risk must be [N]");
    if (!(scale > 0) || !(temperature > 0)) {
        throw std::invalid_argument("risk_difference_weights: scale and temperature must be > 0");
    }
    if (!(min_weight >= 0 && min_weight <= 1)) throw std::invalid_argument("risk_difference_weights: min_weight must be in [0, 1]");
    const at::Tensor r = risk.detach().to(at::kFloat);
    const at::Tensor ones = at::ones({r.size(0), r.size(0)}, r.options());
    if (weighting == RiskWeighting::None) return ones;
    const at::Tensor x = (r.unsqueeze(1) - r.unsqueeze(0)).abs() / (scale * temperature);
    at::Tensor f;
    switch (weighting) {
        case RiskWeighting::Linear: f = x.clamp_max(1); break;
        case RiskWeighting::Exponential: f = 1 - (-x).exp(); break;
        case RiskWeighting::Sigmoid: f = (x / 2).tanh(); break;
        case RiskWeighting::None: break;
    }
    const at::Tensor known = r.isfinite();
    const at::Tensor both_known = known.unsqueeze(1).logical_and(known.unsqueeze(0));
    // Missing metadata falls back to weight 1; the where() also drops the NaNs such pairs produced.
    return at::where(both_known, min_weight + (1 - min_weight) * f, ones).fill_diagonal_(1);
}

at::Tensor multi_positive_nt_xent(const at::Tensor& z, const at::Tensor& positive_mask, double temperature) {
    check_temperature("multi_positive_nt_xent", temperature);
    if (z.dim() != 2 || z.size(0) < 2) throw std::invalid_argument("multi_positive_nt_xent: z must be [M, D] with M >= 2");
    const std::int64_t m = z.size(0);
    if (!positive_mask.defined() || positive_mask.sizes() != at::IntArrayRef{m, m}) {
        throw std::invalid_argument("multi_positive_nt_xent: positive_mask must be [M, M] for M = rows of z");
    }
    const at::Tensor logits = masked_logits(z, temperature);
    const at::Tensor log_prob = logits - logits.logsumexp({1}, /*keepdim=*/true);
    const at::Tensor positives =
        positive_mask.to(at::kBool).logical_and(at::eye(m, positive_mask.options().dtype(at::kBool)).logical_not());
    const at::Tensor count = positives.sum(1);
    const at::Tensor has_positive = count > 0;
    if (!has_positive.any().item<bool>()) throw std::invalid_argument("multi_positive_nt_xent: no anchor has a positive");
    // masked_fill (not a product) keeps the −inf diagonal of log_prob out of the sum and its gradient.
    const at::Tensor per_anchor = -log_prob.masked_fill(positives.logical_not(), 0).sum(1) / count.clamp_min(1);
    return per_anchor.masked_select(has_positive).mean();
}

at::Tensor same_group_mask(const at::Tensor& groups) {
    if (groups.dim() != 1) throw std::invalid_argument("same_group_mask: groups must be [M]");
    const at::Tensor same = groups.unsqueeze(0) == groups.unsqueeze(1);
    return same.logical_and(at::eye(groups.size(0), same.options()).logical_not());
}

at::Tensor byol_regression_loss(const at::Tensor& p, const at::Tensor& z) {
    if (p.dim() != 2 || z.dim() != 2 || p.sizes() != z.sizes() || p.size(0) < 1) {
        throw std::invalid_argument("byol_regression_loss: p and z must both be [N, D] with equal shapes, N >= 1");
    }
    return (2 - 2 * (unit_rows(p) * unit_rows(z.detach())).sum(1)).mean();
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

at::Tensor masked_smooth_l1_loss(const at::Tensor& prediction, const at::Tensor& target, const at::Tensor& selected,
                                 double beta) {
    if (prediction.dim() != 3 || prediction.sizes() != target.sizes())
        throw std::invalid_argument("masked_smooth_l1_loss: prediction and target must both be [B, N, K] with equal shapes");
    if (!selected.defined() || selected.dim() != 2 || selected.size(0) != prediction.size(0) || selected.size(1) != prediction.size(1))
        throw std::invalid_argument("masked_smooth_l1_loss: selected must be bool [B, N] for [B, N, K] tokens");
    if (!(beta > 0)) throw std::invalid_argument("masked_smooth_l1_loss: beta must be positive");
    const at::Tensor d = (prediction - target.detach()).abs();
    const at::Tensor huber = at::where(d < beta, 0.5 * d.pow(2) / beta, d - 0.5 * beta);
    const at::Tensor weight = selected.to(prediction.scalar_type()).unsqueeze(-1);
    return (huber * weight).sum() / (weight.sum() * prediction.size(2)).clamp_min(1.0);
}

at::Tensor normalise_patches(const at::Tensor& patches, double eps) {
    if (patches.dim() < 1 || patches.size(-1) < 2)
        throw std::invalid_argument("normalise_patches: patches need at least 2 values in the last dimension");
    const at::Tensor mean = patches.mean(-1, /*keepdim=*/true);
    const at::Tensor var = patches.var(-1, /*unbiased=*/true, /*keepdim=*/true);
    return (patches - mean) / (var + eps).sqrt();
}

}  // namespace ecgbench
