// Losses shared by SSL methods. Each documents its formula; unit tests check hand-computed values.
#pragma once

#include <ATen/core/Tensor.h>

namespace ecgbench {

/// NT-Xent (SimCLR, Chen et al. 2020): for 2N L2-normalised projections of two views, the mean over
/// all 2N anchors of −log( exp(sim(i, pos(i))/τ) / Σ_{k≠i} exp(sim(i,k)/τ) ), sim = cosine.
/// z1, z2: float [N, D] (row i of z1 and of z2 are views of one record). Returns a scalar.
at::Tensor nt_xent_loss(const at::Tensor& z1, const at::Tensor& z2, double temperature);

/// InfoNCE (van den Oord et al. 2018, CPC): for N predictions p_i and their N targets z_i, the mean
/// over i of −log( exp(p_i·z_i/τ) / Σ_j exp(p_i·z_j/τ) ): every other target in the set is a negative.
/// Scores are raw dot products (CPC's bilinear score p = W_k c), not cosines.
/// predictions, targets: float [N, D] (row i of each belong together), or [G, N, D] for G separate
/// sets (negatives only from the same set); the mean is over all G·N rows. Returns a scalar.
at::Tensor info_nce_loss(const at::Tensor& predictions, const at::Tensor& targets, double temperature = 1.0);

/// Mean squared error over the leads present in each record (signal reconstruction): Σ over b, l, t
/// of present[b, l] · (prediction − target)² divided by T · Σ present (0 when no lead is present).
/// prediction, target: float [B, L, T]; lead_present: bool [B, L] (undefined = all present).
at::Tensor masked_mse_loss(const at::Tensor& prediction, const at::Tensor& target, const at::Tensor& lead_present);

}  // namespace ecgbench
