// Losses shared by SSL methods. Each documents its formula; unit tests check hand-computed values.
#pragma once

#include <ATen/core/Tensor.h>

namespace ecgbench {

/// NT-Xent (SimCLR, Chen et al. 2020): for 2N L2-normalised projections of two views, the mean over
/// all 2N anchors of −log( exp(sim(i, pos(i))/τ) / Σ_{k≠i} exp(sim(i,k)/τ) ), sim = cosine.
/// z1, z2: float [N, D] (row i of z1 and of z2 are views of one record). Returns a scalar.
at::Tensor nt_xent_loss(const at::Tensor& z1, const at::Tensor& z2, double temperature);

}  // namespace ecgbench
