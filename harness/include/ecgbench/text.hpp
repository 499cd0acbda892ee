// Text towers: the part of an ECG–text method (MERL, MELP) that evaluation tasks use after
// pretraining. A method trained with reports implements this interface beside SslMethod and lists
// "text_tower" in its manifest's `provides`; a task that needs "text_tower" gets the method back from
// EvalContext::pretrained_method() (its state loaded from the checkpoint) and reaches the tower with
// dynamic_cast<TextTower*>. Both embeddings live in one joint space, so their cosine similarity is
// the zero-shot score of an ECG against a text (a class prompt).
#pragma once

#include "ecgbench/encoder.hpp"

#include <ATen/core/Tensor.h>

#include <string>
#include <vector>

namespace ecgbench {

class TextTower {
public:
    virtual ~TextTower();
    /// Joint-space embeddings of `texts` (each must yield at least one token): float [N, D] on the
    /// method's device, not normalised. Called in eval mode, typically under NoGradGuard.
    virtual at::Tensor embed_texts(const std::vector<std::string>& texts) = 0;
    /// Joint-space embeddings of ECGs through `encoder` (the task's copy of the pretrained encoder,
    /// on the method's device): float [B, D], not normalised.
    virtual at::Tensor embed_signals(Encoder& encoder, const EncoderBatch& batch) = 0;
    /// What turns text into tokens, for provenance: e.g. "sentencepiece unigram, 812 pieces, sha256 …".
    virtual std::string text_identity() const = 0;
};

}  // namespace ecgbench
