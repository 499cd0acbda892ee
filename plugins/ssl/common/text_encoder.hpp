// A small transformer text encoder trained from scratch with the ECG encoder (the in-house text tower
// of the ECG–text methods): token embedding + learned positions, post-norm transformer encoder
// layers (GELU), and the mean of the last layer over each text's tokens as its embedding (the
// last layer's token states themselves serve token-level alignment, melp).
#pragma once

#include "common/tokenizer.hpp"

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/normalization.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ecgbench::text {

struct TextEncoderOptions {
    std::int64_t vocab_size = 2000;  ///< embedding rows: token ids must be below it
    std::int64_t width = 128;        ///< model width (embedding dimension)
    std::int64_t layers = 2;
    std::int64_t heads = 4;          ///< must divide width
    std::int64_t max_tokens = 64;    ///< longest text in tokens (longer texts are cut)
    double dropout = 0.1;
};

class TextTransformer : public torch::nn::Module {
public:
    explicit TextTransformer(const TextEncoderOptions& options);
    /// ids: int64 [N, L] with Tokenizer::kPadId as padding, L ≤ max_tokens, every row with at least
    /// one token (std::invalid_argument otherwise) -> float [N, width].
    at::Tensor forward(const at::Tensor& ids);
    /// The last layer's (layer-normalised) state of every position: float [N, L, width]; rows of
    /// padding positions hold values that mean nothing (mask them with ids != kPadId). Same checks.
    at::Tensor tokens(const at::Tensor& ids);
    const TextEncoderOptions& options() const { return options_; }

private:
    TextEncoderOptions options_;
    torch::nn::Embedding tokens_{nullptr};
    torch::nn::Embedding positions_{nullptr};
    torch::nn::ModuleList layers_{nullptr};
    torch::nn::LayerNorm norm_{nullptr};
};

/// Mean of token states [N, L, W] over each row's tokens (ids [N, L] != Tokenizer::kPadId; every row
/// needs one): float [N, W]. TextTransformer::forward is mean_over_tokens(tokens(ids), ids).
at::Tensor mean_over_tokens(const at::Tensor& states, const at::Tensor& ids);

/// Token ids of `texts`, cut to `max_tokens` and padded with Tokenizer::kPadId to the longest:
/// int64 [N, L] on the CPU. A text with no token gives a row of padding only.
at::Tensor token_ids(const Tokenizer& tokenizer, const std::vector<std::string>& texts, std::int64_t max_tokens);

}  // namespace ecgbench::text
