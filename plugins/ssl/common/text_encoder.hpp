// A small transformer text encoder trained from scratch with the ECG encoder (the in-house text tower
// of the ECG–text methods): token embedding + learned positions, post-norm transformer encoder
// layers (GELU), and the mean of the last layer over each text's tokens as its embedding.
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
    const TextEncoderOptions& options() const { return options_; }

private:
    TextEncoderOptions options_;
    torch::nn::Embedding tokens_{nullptr};
    torch::nn::Embedding positions_{nullptr};
    torch::nn::ModuleList layers_{nullptr};
    torch::nn::LayerNorm norm_{nullptr};
};

/// Token ids of `texts`, cut to `max_tokens` and padded with Tokenizer::kPadId to the longest:
/// int64 [N, L] on the CPU. A text with no token gives a row of padding only.
at::Tensor token_ids(const Tokenizer& tokenizer, const std::vector<std::string>& texts, std::int64_t max_tokens);

}  // namespace ecgbench::text
