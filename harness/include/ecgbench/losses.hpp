// Losses shared by SSL methods. Each documents its formula; unit tests check hand-computed values.
#pragma once

#include <ATen/core/Tensor.h>

namespace ecgbench {

/// NT-Xent (SimCLR, Chen et al. 2020): for 2N L2-normalised projections of two views, the mean over
/// all 2N anchors of −log( exp(sim(i, pos(i))/τ) / Σ_{k≠i} exp(sim(i,k)/τ) ), sim = cosine.
/// z1, z2: float [N, D] (row i of z1 and of z2 are views of one record). Returns a scalar.
at::Tensor nt_xent_loss(const at::Tensor& z1, const at::Tensor& z2, double temperature);

/// NT-Xent with re-weighted negatives (CLEF, Shu et al. 2025). Rows of [z1; z2] are numbered
/// 0…2N−1; row i belongs to record r(i) = i mod N and its positive is the other view of r(i). Then
///   loss = mean_i −log( e^{s(i,pos)/τ} / ( e^{s(i,pos)/τ} + Σ_{k ∉ {i, pos(i)}} W[r(i), r(k)] e^{s(i,k)/τ} ) )
/// with s the cosine. negative_weights W: float [N, N], finite and ≥ 0 (0 removes a negative); its
/// diagonal is not used (a record's other view is its positive, weight 1). W = all ones gives
/// exactly nt_xent_loss (same operations, log 1 = 0 added to the logits).
at::Tensor weighted_nt_xent_loss(const at::Tensor& z1, const at::Tensor& z2, double temperature,
                                 const at::Tensor& negative_weights);

/// CLIP's symmetric contrastive loss as MERL computes it (Liu et al. 2024; Radford et al. 2021):
/// rows of x and y (both [N, D]) are L2-normalised, S = x̂ ŷᵀ / τ, and
///   loss = CE(S, diag) + CE(Sᵀ, diag) = mean_i −log softmax_j S[i, j] at j = i
///                                     + mean_j −log softmax_i S[i, j] at i = j,
/// the sum (not the mean) of the ECG→text and text→ECG terms. Row i of x and of y are a pair
/// (an ECG and its report, or two dropout views of one ECG); every other row is a negative.
at::Tensor clip_loss(const at::Tensor& x, const at::Tensor& y, double temperature);

/// How CLEF maps a risk difference to a negative weight (risk_difference_weights).
enum class RiskWeighting { None, Linear, Exponential, Sigmoid };

/// CLEF's negative weights from a per-record risk score r (float [N], NaN = missing): with
/// x = |r_i − r_k| / (scale · temperature),
///   W[i][k] = m + (1 − m) · f(x),  f = min(1, x) (Linear), 1 − e^{−x} (Exponential),
///                                      2σ(x) − 1 = tanh(x/2) (Sigmoid),
/// so equal risks weigh m (min_weight) and clearly different risks weigh → 1 (a full negative).
/// A pair where either risk is missing weighs exactly 1 (the unweighted NT-Xent term), as does
/// every pair under None. Returns float [N, N] with a diagonal of 1.
at::Tensor risk_difference_weights(const at::Tensor& risk, RiskWeighting weighting, double scale, double temperature,
                                   double min_weight);

/// Multi-positive contrastive loss (the supervised-contrastive "L_out" form of Khosla et al. 2020,
/// used for CLOCS's segment/lead/patient positives). z: float [M, D], L2-normalised inside;
/// positive_mask: bool [M, M], P[i][k] = k is a positive of anchor i (the diagonal is ignored).
/// Each anchor with at least one positive contributes
///   loss_i = −(1/|P(i)|) Σ_{p ∈ P(i)} log( e^{s(i,p)/τ} / Σ_{k≠i} e^{s(i,k)/τ} ),
/// and the loss is the mean over those anchors (at least one is required). With P = "the other
/// view of the same record" over [z1; z2] it equals nt_xent_loss(z1, z2, τ).
at::Tensor multi_positive_nt_xent(const at::Tensor& z, const at::Tensor& positive_mask, double temperature);

/// Positives by group: bool [M, M], true where groups[i] == groups[k] and i ≠ k. groups: int64 [M]
/// (e.g. the record or the subject of each view).
at::Tensor same_group_mask(const at::Tensor& groups);

/// BYOL's regression loss (Grill et al. 2020): the mean over rows of ‖p̂ − ẑ‖² = 2 − 2·cos(p, z),
/// p̂, ẑ the L2-normalised rows of predictions p and targets z (both [N, D]). z is detached here:
/// the stop-gradient on the target branch is part of the loss.
at::Tensor byol_regression_loss(const at::Tensor& p, const at::Tensor& z);

/// InfoNCE (van den Oord et al. 2018, CPC): for N predictions p_i and their N targets z_i, the mean
/// over i of −log( exp(p_i·z_i/τ) / Σ_j exp(p_i·z_j/τ) ): every other target in the set is a negative.
/// Scores are raw dot products (CPC's bilinear score p = W_k c), not cosines.
/// predictions, targets: float [N, D] (row i of each belong together), or [G, N, D] for G separate
/// sets (negatives only from the same set); the mean is over all G·N rows. Returns a scalar.
at::Tensor info_nce_loss(const at::Tensor& predictions, const at::Tensor& targets, double temperature = 1.0);

/// Mean squared error over the leads present in each record (signal reconstruction): Σ over b, l, t
/// of present[b, l] · (prediction − target)² divided by T · Σ present (0 when no lead is present).
/// prediction, target: float [B, L, T]; lead_present: bool [B, L] (undefined = all present).
/// With tokens in place of leads — prediction, target [B, N, K] (K values per token), the mask
/// [B, N] selecting tokens — it is masked-autoencoder reconstruction (MAE, ST-MEM): the mean over
/// the selected tokens of each token's mean squared error.
at::Tensor masked_mse_loss(const at::Tensor& prediction, const at::Tensor& target, const at::Tensor& lead_present);

/// Smooth L1 (Huber with threshold β: ½d²/β where |d| < β, |d| − ½β elsewhere, d = prediction −
/// target) over selected tokens, the JEPA latent-prediction loss: Σ_{b,n} selected[b, n] · Σ_k
/// h(d[b, n, k]) divided by K · Σ selected (0 when nothing is selected). prediction, target:
/// float [B, N, K]; selected: bool [B, N]. The target is detached (stop-gradient on the target
/// encoder's branch).
at::Tensor masked_smooth_l1_loss(const at::Tensor& prediction, const at::Tensor& target, const at::Tensor& selected,
                                 double beta = 1.0);

/// Per-patch normalised reconstruction targets (MAE's norm_pix_loss): each row of the last
/// dimension minus its mean, divided by √(unbiased variance + eps). patches: float [..., K], K ≥ 2.
at::Tensor normalise_patches(const at::Tensor& patches, double eps = 1e-6);

}  // namespace ecgbench
