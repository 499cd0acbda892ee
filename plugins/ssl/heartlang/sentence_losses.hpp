// The two masked-beat objectives of the heartlang method, on the hidden beats of a batch:
//   form    cross-entropy of the predicted vocabulary index of each hidden beat's word in each
//           present lead (HeartLang's masked ECG sentence pre-training target: the VQ code);
//   rhythm  squared error of the hidden beat's predicted RR intervals (to the previous and to the
//           next beat, seconds), where the record has that neighbour.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace ecgbench::heartlang {

/// Mean over scored (beat, lead) pairs of −log softmax(logits[i, l])[codes[i, l]]. logits: float
/// [n, L, V]; codes: int64 [n, L] (any value where not scored); scored: bool [n, L]. 0 (still
/// differentiable) when nothing is scored.
at::Tensor form_loss(const at::Tensor& logits, const at::Tensor& codes, const at::Tensor& scored);

/// Mean over defined entries of (prediction − target)². prediction, target: float [n, 2]; defined:
/// bool [n, 2]. 0 (still differentiable) when nothing is defined.
at::Tensor rhythm_loss(const at::Tensor& prediction, const at::Tensor& target, const at::Tensor& defined);

/// Share of scored (beat, lead) pairs whose highest logit is the code (0 when nothing is scored).
at::Tensor form_accuracy(const at::Tensor& logits, const at::Tensor& codes, const at::Tensor& scored);

/// exp(entropy) of the histogram of `codes` (int64 [n], values in [0, vocabulary)): the number of
/// equally used words with the same entropy (1 when one word is every target; 0 when n = 0).
at::Tensor code_perplexity(const at::Tensor& codes, std::int64_t vocabulary);

}  // namespace ecgbench::heartlang
