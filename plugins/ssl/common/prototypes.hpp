// Prototype targets for masked-token methods (mtfp's multi-grained prototypes): K unit prototype
// vectors per level, soft assignments of stop-gradient embeddings to them as targets, a
// cross-entropy against the model's predicted assignments, and an online k-means update of the
// prototypes after each optimiser step.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace ecgbench::masked {

/// Soft assignments q[i, k] = softmax_k( cos(z_i, c_k) / τ ): embeddings z float [M, D],
/// prototypes c float [K, D] (need not be unit length) → float [M, K], rows summing to 1.
at::Tensor prototype_assignments(const at::Tensor& embeddings, const at::Tensor& prototypes, double temperature);

/// Cross-entropy of predicted logits against soft targets, the mean over rows of
/// −Σ_k q[i, k] · log softmax_k(logits[i])[k]; logits, targets float [M, K]. The targets are detached
/// (stop-gradient). 0 (still attached to `logits`) for M = 0.
at::Tensor soft_cross_entropy(const at::Tensor& logits, const at::Tensor& targets);

/// One online k-means step on unit prototypes, in place, without gradients. prototypes float [K, D]
/// (kept unit length), idle int64 [K] (steps since each prototype last won an embedding; negative:
/// never placed), embeddings float [M, D] (M ≥ 1), ẑ = the L2-normalised embeddings:
///   1. every prototype never placed (idle < 0) or, with reinit_after > 0, dead (idle ≥
///      reinit_after) starts at a random ẑ_j (distinct j while there are enough rows) and its idle
///      count at 0 — so prototypes whose idle starts at −1 are initialised from the first batch,
///      k-means style; reinit_after = 0 never restarts a placed prototype;
///   2. each ẑ_i is assigned to its nearest prototype (largest cosine; ties to the lower index);
///   3. a prototype with assigned set A_k ≠ ∅ moves c_k ← normalise(m · c_k + (1 − m) · mean_{A_k} ẑ)
///      (m = momentum) and idle_k ← 0; the others keep their place and idle_k += 1.
void update_prototypes(const at::Tensor& prototypes, const at::Tensor& idle, const at::Tensor& embeddings,
                       double momentum, std::int64_t reinit_after);

}  // namespace ecgbench::masked
