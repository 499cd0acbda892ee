// The pieces of melp's losses that are tested alone (tests/unit/text/test_melp.cpp): FILIP-style
// late interaction between two sets of embeddings per record, used at the token level (encoder
// tokens ↔ report tokens) and the beat level (heartbeats ↔ report sentences), and the sentences of a
// report.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ecgbench::melp {

/// Late-interaction similarities of FILIP (Yao et al. 2022) between B ECG records and B texts:
/// x: float [B, N, D] with x_mask bool [B, N] (the ECG side's valid elements), y: float [B, M, D]
/// with y_mask bool [B, M]; every row of both masks needs one true (std::invalid_argument
/// otherwise). With x̂, ŷ the L2-normalised rows and s(i, k, n, m) = x̂[i, n] · ŷ[k, m]:
///   ecg_to_text[i, k] = mean over valid n of (max over valid m of s(i, k, n, m))
///   text_to_ecg[i, k] = mean over valid m of (max over valid n of s(i, k, n, m))
/// Both float [B, B]; with one valid element per row both are the cosine matrix x̂ ŷᵀ.
std::pair<at::Tensor, at::Tensor> late_interaction_similarities(const at::Tensor& x, const at::Tensor& x_mask,
                                                                const at::Tensor& y, const at::Tensor& y_mask);

/// FILIP's contrastive loss over the batch, both directions summed as ecgbench::clip_loss sums
/// them: with A, T = late_interaction_similarities(...) / τ,
///   loss = mean_i −log softmax_k A[i, k] at k = i  +  mean_k −log softmax_i T[i, k] at i = k.
/// Row i of x and of y are a pair. With one valid element per row it equals clip_loss(x, y, τ).
at::Tensor late_interaction_loss(const at::Tensor& x, const at::Tensor& x_mask, const at::Tensor& y,
                                 const at::Tensor& y_mask, double temperature);

/// The sentences of a report: the text split after ';', a line break, and '.' followed by white space
/// or the end (so "0.5 mV" stays whole), each trimmed; empty pieces dropped; the first `max_sentences`.
std::vector<std::string> split_sentences(const std::string& report, std::int64_t max_sentences);

}  // namespace ecgbench::melp
